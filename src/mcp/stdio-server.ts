// MCP over stdio, served in this process (`townhall mcp-stdio` without
// --url): the caller is the local owner of the town (principal `local`,
// admin), the session is the process, and every call still goes through
// `invoke` (validation, audit with transport "mcp"). stdout carries only
// protocol messages; anything else goes to stderr.
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { Principal } from '../auth/principal.js';
import type { Invoker } from '../operations/invoke.js';
import { classifyPayload, errorResponse, RPC, type JsonRpcMessage, type JsonRpcResponse } from './json-rpc.js';
import type { McpCaller } from './mcp-caller.js';
import type { McpDispatcher } from './mcp-dispatcher.js';
import { allowsBatches, LATEST_PROTOCOL_VERSION } from './protocol-version.js';
import { readLines } from './stdio-lines.js';

export interface StdioServerDeps {
  dispatcher: McpDispatcher;
  invoker: Invoker;
  principal: Principal;
  input: Readable;
  output: Writable;
  maxMessageBytes: number;
  maxBatch: number;
  /** Aborts long-polls when the process stops. */
  signal: AbortSignal;
}

/** Serves until the input ends and every answer is written. */
export async function serveStdio(deps: StdioServerDeps): Promise<void> {
  let protocolVersion = LATEST_PROTOCOL_VERSION;
  const pending = new Set<Promise<void>>();
  const write = (message: JsonRpcResponse | JsonRpcResponse[]): void => {
    deps.output.write(JSON.stringify(message) + '\n');
  };

  function caller(requestId: string): McpCaller {
    return {
      principal: deps.principal,
      invoke: async (op, input) =>
        (
          await deps.invoker.invoke(deps.principal, op, input, {
            transport: 'mcp',
            requestId,
            remoteAddr: 'stdio',
            method: 'STDIO',
            path: '/mcp',
            signal: () => deps.signal,
            statusOf: () => 200,
          })
        ).output,
    };
  }

  async function answer(message: JsonRpcMessage): Promise<JsonRpcResponse | null> {
    if (message.kind === 'invalid') return errorResponse(message.id, message.code, message.message);
    if (message.kind !== 'request') return null;
    if (message.method === 'initialize') {
      const init = deps.dispatcher.initialize(message.params);
      protocolVersion = init.protocolVersion;
      return { jsonrpc: '2.0', id: message.id, result: init.result };
    }
    return deps.dispatcher.handle(message, caller(randomUUID()), 'stdio');
  }

  async function onLine(text: string): Promise<void> {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return write(errorResponse(null, RPC.PARSE_ERROR, 'Parse error: the line is not valid JSON.'));
    }
    const payload = classifyPayload(value, deps.maxBatch);
    if (payload.kind === 'invalid') return write(payload.error);
    if (payload.kind === 'single') {
      const out = await answer(payload.message);
      if (out !== null) write(out);
      return;
    }
    if (!allowsBatches(protocolVersion)) return write(errorResponse(null, RPC.INVALID_REQUEST, `Protocol version ${protocolVersion} does not allow JSON-RPC batches.`));
    const outs = (await Promise.all(payload.messages.map(answer))).filter((o): o is JsonRpcResponse => o !== null);
    if (outs.length > 0) write(outs);
  }

  await readLines(deps.input, deps.maxMessageBytes, {
    line(text) {
      const p = onLine(text);
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    tooLong: () => write(errorResponse(null, RPC.INVALID_REQUEST, `A message may be at most ${deps.maxMessageBytes} bytes.`)),
  });
  await Promise.all(pending);
}
