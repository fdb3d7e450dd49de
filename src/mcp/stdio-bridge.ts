// `townhall mcp-stdio --url URL`: relays stdio JSON-RPC to a running
// server's /mcp, so authentication, scopes and audit stay in one place (the
// server). Keeps the session id and protocol version from `initialize`,
// answers an HTTP refusal with a JSON-RPC error carrying the request's own id
// (so the client is never left waiting), and ends the session at EOF.
//
// Security: the key (TOWNHALL_API_KEY) is only ever put in the Authorization
// header; it is never written to stdout or stderr.
import type { Readable, Writable } from 'node:stream';
import { classifyPayload, errorResponse, RPC, type JsonRpcId, type JsonRpcResponse } from './json-rpc.js';
import { readLines } from './stdio-lines.js';

export interface BridgeOptions {
  /** The server's /mcp URL. */
  url: URL;
  key: string | undefined;
  input: Readable;
  output: Writable;
  /** Diagnostics (stderr). */
  log(line: string): void;
  maxMessageBytes: number;
}

/** Request ids in what the client sent (to answer a refusal to each). */
function requestIds(value: unknown): JsonRpcId[] {
  const payload = classifyPayload(value, Number.MAX_SAFE_INTEGER);
  const messages = payload.kind === 'single' ? [payload.message] : payload.kind === 'batch' ? payload.messages : [];
  return messages.flatMap((m) => (m.kind === 'request' ? [m.id] : []));
}

/** The JSON-RPC messages in an SSE body (`data:` lines of each event). */
function sseMessages(text: string): string[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((event) => event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'))
    .filter((d) => d !== '');
}

export async function bridgeStdio(opts: BridgeOptions): Promise<void> {
  let sessionId: string | undefined;
  let protocolVersion: string | undefined;
  let ready: Promise<void> = Promise.resolve();
  const pending = new Set<Promise<void>>();
  const write = (message: unknown): void => {
    opts.output.write(JSON.stringify(message) + '\n');
  };

  function headers(): Record<string, string> {
    return {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(opts.key === undefined ? {} : { authorization: `Bearer ${opts.key}` }),
      ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
      ...(protocolVersion === undefined ? {} : { 'mcp-protocol-version': protocolVersion }),
    };
  }

  function refuse(ids: readonly JsonRpcId[], code: number, message: string, data?: unknown): void {
    if (ids.length === 0) opts.log(`townhall mcp-stdio: ${message}`);
    for (const id of ids) write(errorResponse(id, code, message, data));
  }

  async function relay(text: string, value: unknown, isInitialize: boolean): Promise<void> {
    const ids = requestIds(value);
    let res: Response;
    try {
      res = await fetch(opts.url, { method: 'POST', headers: headers(), body: text });
    } catch {
      return refuse(ids, RPC.INTERNAL_ERROR, `cannot reach ${opts.url.origin}`);
    }
    const body = await res.text();
    if (isInitialize && res.ok) {
      sessionId = res.headers.get('mcp-session-id') ?? undefined;
      try {
        protocolVersion = (JSON.parse(body) as { result?: { protocolVersion?: string } }).result?.protocolVersion;
      } catch {
        // answered below as it is
      }
    }
    if (res.status === 202 || body === '') return;
    if (res.ok) {
      const messages = (res.headers.get('content-type') ?? '').startsWith('text/event-stream') ? sseMessages(body) : [body];
      for (const m of messages) {
        try {
          write(JSON.parse(m));
        } catch {
          refuse(ids, RPC.INTERNAL_ERROR, 'the server sent a message that is not JSON');
        }
      }
      return;
    }
    let error: JsonRpcResponse['error'];
    try {
      error = (JSON.parse(body) as JsonRpcResponse).error;
    } catch {
      error = undefined;
    }
    if (res.status === 401) opts.log('townhall mcp-stdio: the server refused the key (401); set TOWNHALL_API_KEY');
    refuse(ids, error?.code ?? RPC.SERVER_ERROR, `HTTP ${res.status}: ${error?.message ?? 'the server refused the request'}`);
  }

  await readLines(opts.input, opts.maxMessageBytes, {
    line(text) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        write(errorResponse(null, RPC.PARSE_ERROR, 'Parse error: the line is not valid JSON.'));
        return;
      }
      const isInitialize = !Array.isArray(value) && (value as { method?: unknown } | null)?.method === 'initialize';
      // initialize must finish (and give the session id) before anything after it is sent.
      const p = isInitialize ? (ready = relay(text, value, true)) : ready.then(() => relay(text, value, false));
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    tooLong: () => write(errorResponse(null, RPC.INVALID_REQUEST, `A message may be at most ${opts.maxMessageBytes} bytes.`)),
  });
  await Promise.all(pending);
  if (sessionId !== undefined) {
    await fetch(opts.url, { method: 'DELETE', headers: headers() }).catch(() => undefined);
  }
}
