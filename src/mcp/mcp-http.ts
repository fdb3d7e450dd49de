// MCP's Streamable HTTP transport (2025-06-18) at /mcp, on the REST server:
//   Origin (DNS rebinding) -> authenticate (the REST authenticator: same keys)
//   -> headers (Accept, Content-Type, Mcp-Session-Id, MCP-Protocol-Version)
//   -> bounded body -> JSON-RPC -> the dispatcher -> one JSON answer.
// POST carries client messages; only-notifications answers 202; GET answers
// 405 (we offer no server-initiated stream); DELETE ends the session.
// Transport refusals are answered with a JSON-RPC error (id null) and the
// HTTP status the spec names; refusals of the caller are audited here, tool
// calls by `invoke` (transport "mcp").
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ServerLogger } from '../audit/server-logger.js';
import type { Authenticator } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import { OpError } from '../errors.js';
import type { VerifiedPeer } from '../tls/peer-certificate.js';
import type { InvokeOptions, Invoker } from '../operations/invoke.js';
import { classifyPayload, errorResponse, RPC, type JsonRpcMessage, type JsonRpcResponse } from './json-rpc.js';
import type { McpCaller } from './mcp-caller.js';
import type { McpDispatcher } from './mcp-dispatcher.js';
import { isAllowedOrigin, type OriginPolicy } from './origin-check.js';
import { baseUrlOf, bearerChallenge, METADATA_PATH, resourceMetadata } from './protected-resource.js';
import { allowsBatches, isSupportedProtocolVersion } from './protocol-version.js';
import { readMcpBody } from './read-body.js';
import { unreadBody } from '../http/exchange-end.js';
import { SESSION_ID_PATTERN, type SessionTable } from './sessions.js';

/** What the pipeline hands over (structurally its `HandoffContext`). */
export interface McpExchange {
  requestId: string;
  remoteAddr: string;
  headers: Record<string, string | number | string[]>;
  signal(): AbortSignal;
  peer: VerifiedPeer | null;
  auditExtras: { auth: string; clientCert?: string; clientRequestId?: string };
}

export interface McpHttpDeps {
  authenticator: Authenticator;
  invoker: Invoker;
  dispatcher: McpDispatcher;
  sessions: SessionTable;
  logger: ServerLogger;
  maxBodyBytes: number;
  maxBatch: number;
  origins: OriginPolicy;
  /** Offer a Basic challenge too (some key has an id), as REST does; asked per request (reloads). */
  basicPossible(): boolean;
  /** The OIDC issuer, named in the protected-resource metadata (undefined: none configured). */
  issuer(): string | undefined;
  /** scheme://host[:port] clients reach us at, if configured (else the socket's address). */
  publicUrl?: string | undefined;
  onAuthFailure(reason: string): void;
}

export interface McpHttpHandlers {
  /** POST, GET and DELETE /mcp. */
  mcp(req: IncomingMessage, res: ServerResponse, ex: McpExchange): Promise<void>;
  /** GET /.well-known/oauth-protected-resource (public). */
  metadata(req: IncomingMessage, res: ServerResponse, ex: McpExchange): Promise<void>;
}

/** The transport refuses the request: its HTTP status, JSON-RPC code, message and audit reason. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly rpcCode: number,
    message: string,
    readonly reason: string,
    readonly headers: Record<string, string | string[]> = {},
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, headers: McpExchange['headers'], body?: unknown): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}

function acceptsJson(accept: string | undefined): boolean {
  return accept === undefined || /(^|,)\s*(application\/json|application\/\*|\*\/\*)\s*(;|,|$)/i.test(accept);
}

/** The HTTP status of an authentication refusal, by its code (REST answers the same ones). */
function authStatus(code: OpError['code']): number {
  switch (code) {
    case 'scope.denied':
      return 403;
    case 'rate.limited':
      return 429;
    case 'auth.busy':
    case 'auth.unavailable':
      return 503;
    default:
      return 401;
  }
}

const single = (h: string | string[] | undefined): string | undefined => (typeof h === 'string' ? h : undefined);

export function createMcpHttp(deps: McpHttpDeps): McpHttpHandlers {
  async function authenticate(req: IncomingMessage, ex: McpExchange, audit: (err: OpError, reason: string) => void): Promise<Principal> {
    const pending = deps.authenticator.authenticate({ headers: req.headers, clientAddress: ex.remoteAddr, peer: ex.peer, connection: req.socket });
    const auth = pending instanceof Promise ? await pending : pending;
    ex.auditExtras.auth = auth.method;
    if (auth.ok) return auth.principal;
    deps.onAuthFailure(auth.reason);
    audit(auth.error, auth.reason);
    const { code, extras } = auth.error;
    const headers: Record<string, string | string[]> = extras.retry_after_secs === undefined ? {} : { 'Retry-After': String(extras.retry_after_secs) };
    if (code === 'auth.unauthorized') {
      // As REST's 401 (RFC 6750), plus where to find how to get a token (RFC 9728).
      const bearer = `${bearerChallenge(baseUrlOf(req, deps.publicUrl))}${extras.bearer_error === undefined ? '' : `, error="${extras.bearer_error}"`}`;
      headers['WWW-Authenticate'] = deps.basicPossible() ? [bearer, 'Basic realm="townhall"'] : bearer;
    } else if (code === 'scope.denied' && extras.required_scope !== undefined) {
      headers['WWW-Authenticate'] = `Bearer realm="townhall", error="insufficient_scope", scope="${extras.required_scope}"`;
    }
    throw new Refusal(authStatus(code), RPC.SERVER_ERROR, auth.error.detail, auth.reason, headers);
  }

  async function respondTo(messages: readonly JsonRpcMessage[], caller: McpCaller, requestId: string): Promise<JsonRpcResponse[]> {
    return Promise.all(
      messages.flatMap((m): Array<Promise<JsonRpcResponse>> => {
        if (m.kind === 'invalid') return [Promise.resolve(errorResponse(m.id, m.code, m.message))];
        if (m.kind !== 'request') return []; // notifications and client responses need no answer
        if (m.method === 'initialize') return [Promise.resolve(errorResponse(m.id, RPC.INVALID_REQUEST, 'initialize must be sent alone, without a session.'))];
        return [deps.dispatcher.handle(m, caller, requestId)];
      }),
    );
  }

  async function post(req: IncomingMessage, res: ServerResponse, ex: McpExchange, principal: Principal, options: InvokeOptions): Promise<void> {
    if (!acceptsJson(single(req.headers['accept']))) throw new Refusal(406, RPC.SERVER_ERROR, 'Not Acceptable: the client must accept application/json.', 'not_acceptable');
    // Only now, after the key and the headers were accepted, is the body asked for.
    if (single(req.headers['expect'])?.toLowerCase() === '100-continue') res.writeContinue();
    const body = await readMcpBody(req, deps.maxBodyBytes);
    if (!body.ok) throw new Refusal(body.status, body.status === 400 ? RPC.PARSE_ERROR : RPC.SERVER_ERROR, body.message, 'bad_body');
    let value: unknown;
    try {
      value = JSON.parse(body.text);
    } catch {
      throw new Refusal(400, RPC.PARSE_ERROR, 'Parse error: the body is not valid JSON.', 'parse_error');
    }
    const payload = classifyPayload(value, deps.maxBatch);
    if (payload.kind === 'invalid') throw new Refusal(400, RPC.INVALID_REQUEST, payload.error.error?.message ?? 'Invalid Request.', 'bad_batch');
    // initialize always starts a new session, even if a stale Mcp-Session-Id came with it.
    if (payload.kind === 'single' && payload.message.kind === 'request' && payload.message.method === 'initialize') {
      const { id, params } = payload.message;
      if (typeof params['protocolVersion'] !== 'string') return send(res, 200, ex.headers, errorResponse(id, RPC.INVALID_PARAMS, 'initialize needs a "protocolVersion".'));
      const init = deps.dispatcher.initialize(params);
      const session = deps.sessions.create(principal.id, init.protocolVersion);
      if (session === null) throw new Refusal(503, RPC.SERVER_ERROR, 'Too many MCP sessions are open; retry later.', 'too_many_sessions', { 'Retry-After': '60' });
      return send(res, 200, { ...ex.headers, 'Mcp-Session-Id': session.id }, { jsonrpc: '2.0', id, result: init.result });
    }
    const session = findSession(req, principal);
    const messages = payload.kind === 'batch' ? payload.messages : [payload.message];
    if (payload.kind === 'batch' && !allowsBatches(session.protocolVersion)) {
      throw new Refusal(400, RPC.INVALID_REQUEST, `Protocol version ${session.protocolVersion} does not allow JSON-RPC batches.`, 'bad_batch');
    }
    const caller: McpCaller = { principal, invoke: async (op, input) => (await deps.invoker.invoke(principal, op, input, options)).output };
    const answers = await respondTo(messages, caller, ex.requestId);
    if (answers.length === 0) return send(res, 202, ex.headers);
    if (payload.kind === 'batch') return send(res, 200, ex.headers, answers);
    // A single message that is not valid JSON-RPC is a bad request; a valid one always a 200.
    return send(res, payload.message.kind === 'invalid' ? 400 : 200, ex.headers, answers[0]);
  }

  function findSession(req: IncomingMessage, principal: Principal) {
    const id = single(req.headers['mcp-session-id']);
    if (id === undefined) throw new Refusal(400, RPC.SERVER_ERROR, 'Bad Request: the Mcp-Session-Id header is required (send initialize first).', 'session_missing');
    const session = SESSION_ID_PATTERN.test(id) ? deps.sessions.find(id, principal.id) : undefined;
    if (session === undefined) throw new Refusal(404, RPC.SESSION_NOT_FOUND, 'Session not found: it ended or expired; send initialize again without Mcp-Session-Id.', 'session_not_found');
    const version = single(req.headers['mcp-protocol-version']);
    if (version !== undefined && !isSupportedProtocolVersion(version)) throw new Refusal(400, RPC.SERVER_ERROR, 'Bad Request: unsupported MCP-Protocol-Version.', 'protocol_version');
    if (version !== undefined && version !== session.protocolVersion) throw new Refusal(400, RPC.SERVER_ERROR, `Bad Request: this session speaks MCP-Protocol-Version ${session.protocolVersion}.`, 'protocol_version');
    return session;
  }

  return {
    async mcp(req, res, ex) {
      const started = performance.now();
      let status = 200;
      const options: InvokeOptions = {
        transport: 'mcp',
        requestId: ex.requestId,
        remoteAddr: ex.remoteAddr,
        method: req.method ?? 'POST',
        path: '/mcp',
        signal: ex.signal,
        // Tool errors travel in a 200; the audit result comes from the error code.
        statusOf: () => status,
        auditExtras: ex.auditExtras,
      };
      let principal: Principal | null = null;
      let audited = false;
      const audit = (err: OpError, reason: string): void => {
        audited = true;
        deps.invoker.auditRefusal(principal, null, err, options, started, reason);
      };
      try {
        if (!isAllowedOrigin(req.headers['origin'], deps.origins)) {
          status = 403;
          audit(new OpError('scope.denied', 'origin not allowed'), 'origin_not_allowed');
          throw new Refusal(403, RPC.SERVER_ERROR, 'Forbidden: this Origin may not use /mcp.', 'origin_not_allowed');
        }
        if (req.method === 'GET' || req.method === 'HEAD') throw new Refusal(405, RPC.SERVER_ERROR, 'Method Not Allowed: this server offers no server-initiated stream.', 'method_not_allowed', { Allow: 'POST, DELETE' });
        principal = await authenticate(req, ex, (err, reason) => {
          status = authStatus(err.code);
          audit(err, reason);
        });
        if (req.method === 'DELETE') {
          const session = findSession(req, principal);
          deps.sessions.end(session.id, principal.id);
          return send(res, 204, ex.headers);
        }
        await post(req, res, ex, principal, options);
      } catch (err) {
        if (!(err instanceof Refusal)) {
          deps.logger.error(`MCP request ${ex.requestId} failed unexpectedly`, err);
          status = 500;
          if (!audited) audit(new OpError('server.internal', 'unexpected'), 'internal');
          return send(res, 500, ex.headers, errorResponse(null, RPC.INTERNAL_ERROR, 'Internal error; the request id identifies it in the server log.'));
        }
        status = err.status;
        // Like REST: a refused POST or DELETE leaves an audit line (reads only when denied).
        if (!audited) audit(new OpError('input.invalid', err.message), err.reason);
        if (unreadBody(req)) ex.headers['Connection'] = 'close';
        send(res, err.status, { ...ex.headers, ...err.headers }, errorResponse(null, err.rpcCode, err.message));
      }
    },
    async metadata(req, res, ex) {
      send(res, 200, ex.headers, resourceMetadata(baseUrlOf(req, deps.publicUrl), deps.issuer()));
    },
  };
}

export interface McpEndpoint {
  method: 'POST' | 'GET' | 'DELETE';
  path: string;
  summary: string;
  handler: McpHttpHandlers['mcp'];
}

/** The HTTP routes MCP needs; all authenticate by themselves (the metadata is public). */
export function mcpEndpoints(handlers: McpHttpHandlers): McpEndpoint[] {
  return [
    { method: 'POST', path: '/mcp', summary: 'MCP (Streamable HTTP): client messages', handler: handlers.mcp },
    { method: 'GET', path: '/mcp', summary: 'MCP: no server-initiated stream (405)', handler: handlers.mcp },
    { method: 'DELETE', path: '/mcp', summary: 'MCP: end a session', handler: handlers.mcp },
    { method: 'GET', path: METADATA_PATH, summary: 'OAuth protected resource metadata (RFC 9728)', handler: handlers.metadata },
    { method: 'GET', path: `${METADATA_PATH}/mcp`, summary: 'OAuth protected resource metadata for /mcp (RFC 9728)', handler: handlers.metadata },
  ];
}
