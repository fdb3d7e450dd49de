// The request pipeline, cheapest step first:
//   request id -> route match -> authenticate (limiter, cache, then Argon2)
//   -> authorize (the operation's scope) -> read the query -> read the body
//   (bounded) -> invoke the operation (validate, idempotency, run, audit)
//   -> response.
// Requests refused before the operation is invoked (401, 403, 429, a bad body)
// are audited here with the same request id the client sees; from `invoke` on,
// the operation layer audits. Nothing throws past here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ServerLogger } from '../audit/server-logger.js';
import type { AuthResult, Authenticator } from '../auth/authenticate.js';
import { ANONYMOUS_ID, type Principal } from '../auth/principal.js';
import { verifiedPeer } from '../tls/peer-certificate.js';
import type { InvokeOptions, Invoker } from '../operations/invoke.js';
import { clientAddress, type ProxyTrust } from './client-address.js';
import { clientLeft, ExchangeEnded, unreadBody } from './exchange-end.js';
import { laxBody, sendFastApiError } from './fastapi-errors.js';
import { HttpError, toHttpError } from './http-errors.js';
import type { Metrics } from './metrics.js';
import { RequestCancellation } from './request-cancellation.js';
import { clientRequestId, nextRequestId } from './request-id.js';
import { sendJson, sendProblem, type ResponseHeaders } from './respond.js';
import { RequestDeadlines, type Deadline } from './request-deadlines.js';
import { readNoInput, readOperationInput } from './operation-input.js';
import { checkRequestLine, requestTarget } from './request-line.js';
import type { RouteDef } from './route.js';
import type { Router } from './router.js';

export interface PipelineDeps {
  router: Router;
  authenticator: Authenticator;
  invoker: Invoker;
  logger: ServerLogger;
  metrics: Metrics;
  requestTimeoutMs: number;
  maxBodyBytes: number;
  /** Whose X-Forwarded-For to believe (client-address.ts). */
  proxies: ProxyTrust;
  /** Named body limits that bindings may choose instead of maxBodyBytes (`bodyLimit`). */
  bodyLimits?: Readonly<Record<string, number>>;
  basicPossible: boolean;
  /** True while the audit log cannot keep up: operations are refused rather than run unaudited. */
  auditBacklogged: () => boolean;
}

export interface Pipeline {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Requests currently being handled. */
  readonly inFlight: number;
  /** Ends long-polls and marks responses `Connection: close` (graceful shutdown). */
  beginShutdown(): void;
  /** Stops the timeout sweeper, once the server is closed. */
  close(): void;
}

/** Who calls a public operation: nobody authenticated, no scopes. */
const PUBLIC_PRINCIPAL: Principal = Object.freeze({ id: ANONYMOUS_ID, scopes: Object.freeze([]) });

interface AuthState {
  principal: Principal | null;
  reason?: string;
  invoked: boolean;
}

export function createPipeline(deps: PipelineDeps): Pipeline {
  let inFlight = 0;
  let shuttingDown = false;
  const longPolls = new Set<RequestCancellation>();
  const deadlines = new RequestDeadlines(deps.requestTimeoutMs);

  function authenticated(auth: AuthResult, state: AuthState): Principal {
    if (!auth.ok) {
      state.reason = auth.reason;
      deps.metrics.recordAuthFailure(auth.reason);
      throw auth.error;
    }
    state.principal = auth.principal;
    return auth.principal;
  }

  // The common path (cached key, no body, quick handler) awaits only what is
  // really asynchronous: each await costs a microtask and an allocation, and
  // this path must cost about what bare node:http does.
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    inFlight++;
    const started = performance.now();
    const requestId = nextRequestId();
    const clientId = clientRequestId(req.headers['x-request-id']);
    const method = req.method ?? 'GET';
    const isHead = method === 'HEAD';
    const url = requestTarget(req);
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const addr = clientAddress(req, deps.proxies);
    const state: AuthState = { principal: null, invoked: false };
    // Buttercup-style bindings (errorStyle 'fastapi') keep what their error shape needs.
    const seen: { body: unknown } = { body: undefined };
    let params: Record<string, string> | undefined;
    let route: RouteDef | null = null;
    // How the exchange ended early, if it did: the answer a 408 gave, or the client gone.
    let ending: 'timeout' | 'aborted' | undefined;
    const cancellation = new RequestCancellation(res);
    let deadline: Deadline | undefined;
    // The client sees its own id when it sent a safe one; the audit line keeps both.
    const shownId = clientId ?? requestId;
    const headers: ResponseHeaders = { 'X-Request-Id': shownId, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
    const problemCtx = { requestId: shownId, basicPossible: deps.basicPossible, isHead, headers };
    // How the request authenticated and the verified client certificate, for the audit line.
    const peer = verifiedPeer(req.socket);
    const auditExtras: { auth: string; clientCert?: string; clientRequestId?: string } = { auth: 'none' };
    if (peer !== null) auditExtras.clientCert = peer.subject;
    if (clientId !== undefined) auditExtras.clientRequestId = clientId;
    // Which input fields came from the query string decides query.invalid versus body.invalid.
    const querySourced = (): ReadonlyMap<string, unknown> | undefined => (route?.kind === 'operation' ? route.queryFields : undefined);
    const invokeOptions: InvokeOptions = {
      transport: 'http',
      requestId,
      remoteAddr: addr,
      auditExtras,
      method,
      path,
      signal: () => cancellation.signal,
      ending: () => ending,
      statusOf(error, output) {
        if (ending === 'aborted') return 499;
        if (res.headersSent) return res.statusCode;
        if (error !== undefined) return toHttpError(error, querySourced()).status;
        if (route?.kind !== 'operation') return 200;
        return output === null && route.binding.emptyStatus !== undefined ? route.binding.emptyStatus : route.status;
      },
    };
    try {
      checkRequestLine(req, url);
      const match = deps.router.match(method, path);
      // The audit log is behind (stdout blocked): take no new work rather than drop lines or buffer without
      // bound. Only the server's own routes (liveness, metrics), which write no audit line, still answer.
      if (!(match.kind === 'found' && match.route.kind === 'raw') && deps.auditBacklogged()) {
        throw new HttpError('server.overloaded', 'The server cannot write its audit log fast enough; retry shortly.', { retry_after_secs: 1 });
      }
      if (match.kind === 'bad_path') throw new HttpError('request.bad_path', 'The request path has malformed percent-encoding or an over-long segment.');
      if (match.kind === 'not_found') throw new HttpError('route.not_found', 'No route matches this path.');
      if (match.kind === 'method_not_allowed') throw new HttpError('route.method_not_allowed', `Method ${method} is not allowed here.`, { allow: match.allow });
      route = match.route;
      params = match.params;
      if (route.kind === 'handoff') {
        // MCP: the route owns the exchange; shutdown ends it like a long-poll.
        longPolls.add(cancellation);
        if (shuttingDown) headers['Connection'] = 'close';
        await route.handler(req, res, { requestId, remoteAddr: addr, headers, signal: () => cancellation.signal, peer, auditExtras });
        return;
      }
      if (route.kind === 'operation' && route.op.longPoll === true) longPolls.add(cancellation);
      else {
        deadline = deadlines.track(() => {
          ending ??= 'timeout';
          const bodyPending = unreadBody(req);
          if (bodyPending) headers['Connection'] = 'close';
          sendProblem(res, new HttpError('request.timeout', `The request did not complete within ${deps.requestTimeoutMs} ms.`), problemCtx);
          cancellation.cancel();
          // Node stops feeding a request whose answer is sent: end the body read ourselves, once the 408 is out.
          if (bodyPending) res.once('finish', () => req.destroy());
        });
      }
      let principal: Principal | null = null;
      if (route.access !== 'public') {
        const pending = deps.authenticator.authenticate({ headers: req.headers, clientAddress: addr, peer, connection: req.socket });
        const auth = pending instanceof Promise ? await pending : pending;
        auditExtras.auth = auth.method;
        principal = authenticated(auth, state);
      }
      if (route.kind === 'raw') {
        await readNoInput(req, res, deps);
        const out = route.handler();
        const result = out instanceof Promise ? await out : out;
        if (shuttingDown) headers['Connection'] = 'close';
        if (result.headers !== undefined) Object.assign(headers, result.headers);
        sendJson(res, result.status, result.body, isHead, headers, result.contentType);
        return;
      }
      const caller = principal ?? PUBLIC_PRINCIPAL;
      deps.invoker.authorize(caller, route.op);
      const input = await readOperationInput(route, req, res, q === -1 ? null : url.slice(q + 1), params, deps, seen);
      const key = req.headers['idempotency-key'];
      if (typeof key === 'string') invokeOptions.idempotencyKey = key;
      // A 408 already sent, or a client gone while we waited for its key or body: nothing more may run.
      if (ending !== undefined || res.destroyed) throw new ExchangeEnded();
      state.invoked = true;
      const { output, replayed } = await deps.invoker.invoke(caller, route.op, input, invokeOptions);
      if (res.headersSent) return;
      if (shuttingDown) headers['Connection'] = 'close';
      if (replayed) headers['Idempotent-Replayed'] = 'true';
      if (output === null && route.binding.emptyStatus !== undefined) sendJson(res, route.binding.emptyStatus, undefined, isHead, headers);
      // A string answer (Buttercup's "DONE" and "") is a JSON string, not raw text.
      else sendJson(res, route.status, typeof output === 'string' ? JSON.stringify(output) : output, isHead, headers);
    } catch (err) {
      if (ending === undefined && (res.destroyed || clientLeft(err))) ending = 'aborted';
      const error = ending === undefined ? toHttpError(err, querySourced()) : null;
      if (error?.code === 'server.internal') deps.logger.error(`request ${requestId} failed unexpectedly`, err);
      if (error !== null) {
        if (unreadBody(req) || shuttingDown) headers['Connection'] = 'close';
        if (route?.kind === 'operation' && route.binding.errorStyle === 'fastapi') {
          const input = Object.assign(Object.create(null) as Record<string, unknown>, laxBody(route.op.input, seen.body, route.bodyFields), params);
          sendFastApiError(res, error, { ...problemCtx, pathFields: route.pathFields, input, body: seen.body, basicOnly: route.binding.wwwAuthenticate === 'basic' });
        } else sendProblem(res, error, problemCtx);
      }
      if (!state.invoked && error?.code !== 'server.overloaded') deps.invoker.auditRefusal(state.principal, route?.kind === 'operation' ? route.op : null, err, invokeOptions, started, state.reason);
    } finally {
      deadlines.untrack(deadline);
      longPolls.delete(cancellation);
      cancellation.dispose();
      inFlight--;
      // 499 as nginx counts a client that closed before its answer.
      if (ending === undefined && res.destroyed && !res.writableFinished) ending = 'aborted';
      const status = ending === 'aborted' ? 499 : res.statusCode;
      deps.metrics.recordRequest(route?.path ?? 'unmatched', method, status);
      if (deps.logger.debugEnabled) {
        deps.logger.debug(`${method} ${JSON.stringify(path)} ${status} ${(performance.now() - started).toFixed(1)}ms request_id=${requestId}${clientId === undefined ? '' : ` client_request_id=${clientId}`}`);
      }
    }
  }

  return {
    handle,
    get inFlight() {
      return inFlight;
    },
    beginShutdown() {
      shuttingDown = true;
      for (const poll of longPolls) poll.cancel();
    },
    close() {
      deadlines.close();
    },
  };
}
