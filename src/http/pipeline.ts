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
import type { Invocation, Invoker } from '../operations/invoke.js';
import { hasBody } from './body.js';
import type { ProxyTrust } from './client-address.js';
import { Exchange, type ExchangeEnv } from './exchange.js';
import { clientLeft, ExchangeEnded, unreadBody } from './exchange-end.js';
import { laxBody, sendFastApiError } from './fastapi-errors.js';
import { HttpError, toHttpError } from './http-errors.js';
import type { Metrics } from './metrics.js';
import type { RequestCancellation } from './request-cancellation.js';
import { sendProblem } from './respond.js';
import { RequestDeadlines } from './request-deadlines.js';
import { readNoInput, readOperationInput } from './operation-input.js';
import { checkRequestLine } from './request-line.js';
import type { BoundRoute, RawRoute, RouteResult } from './route.js';
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
  /** Handles one exchange; returns a promise only when the exchange had to wait (undefined: already answered). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> | undefined;
  /** Requests currently being handled. */
  readonly inFlight: number;
  /** Ends long-polls and marks responses `Connection: close` (graceful shutdown). */
  beginShutdown(): void;
  /** Stops the timeout sweeper, once the server is closed. */
  close(): void;
}

/** Who calls a public operation: nobody authenticated, no scopes. */
const PUBLIC_PRINCIPAL: Principal = Object.freeze({ id: ANONYMOUS_ID, scopes: Object.freeze([]) });

type Served = RawRoute | BoundRoute;

export function createPipeline(deps: PipelineDeps): Pipeline {
  let inFlight = 0;
  let shuttingDown = false;
  const env: ExchangeEnv = {
    proxies: deps.proxies,
    requestTimeoutMs: deps.requestTimeoutMs,
    get basicPossible() {
      return deps.basicPossible;
    },
    get shuttingDown() {
      return shuttingDown;
    },
  };
  const longPolls = new Set<RequestCancellation>();
  const deadlines = new RequestDeadlines(deps.requestTimeoutMs);

  // The steps, cheapest first. Each returns undefined when it finished the
  // exchange synchronously, or a promise when it had to wait: the common read
  // (mode none or a proved key, no body, an answer the town has ready) runs
  // start to end without a promise, a closure or a timer.

  function start(x: Exchange): Promise<void> | undefined {
    checkRequestLine(x.req, x.url);
    const match = deps.router.match(x.method, x.path);
    // The audit log is behind (stdout blocked): take no new work rather than drop lines or buffer without
    // bound. Only the server's own routes (liveness, metrics), which write no audit line, still answer.
    if (!(match.kind === 'found' && match.route.kind === 'raw') && deps.auditBacklogged()) {
      throw new HttpError('server.overloaded', 'The server cannot write its audit log fast enough; retry shortly.', { retry_after_secs: 1 });
    }
    if (match.kind === 'bad_path') throw new HttpError('request.bad_path', 'The request path has malformed percent-encoding or an over-long segment.');
    if (match.kind === 'not_found') throw new HttpError('route.not_found', 'No route matches this path.');
    if (match.kind === 'method_not_allowed') throw new HttpError('route.method_not_allowed', `Method ${x.method} is not allowed here.`, { allow: match.allow });
    const route = (x.route = match.route);
    x.params = match.params;
    if (route.kind === 'handoff') {
      // MCP: the route owns the exchange; shutdown ends it like a long-poll.
      x.timed = false;
      longPolls.add(x.cancellable());
      if (shuttingDown) x.responseHeaders['Connection'] = 'close';
      return route.handler(x.req, x.res, { requestId: x.requestId, remoteAddr: x.remoteAddr, headers: x.responseHeaders, signal: () => x.signal(), peer: x.peer, auditExtras: x.auditExtras });
    }
    if (route.kind === 'operation' && route.op.longPoll === true) {
      x.timed = false;
      longPolls.add(x.cancellable());
    }
    if (route.access === 'public') return authenticated(x, route, null);
    const auth = deps.authenticator.authenticate(x);
    return auth instanceof Promise ? auth.then((a) => authenticated(x, route, a)) : authenticated(x, route, auth);
  }

  function authenticated(x: Exchange, route: Served, auth: AuthResult | null): Promise<void> | undefined {
    if (auth !== null) {
      x.auditExtras.auth = auth.method;
      if (!auth.ok) {
        x.reason = auth.reason;
        deps.metrics.recordAuthFailure(auth.reason);
        throw auth.error;
      }
      x.principal = auth.principal;
    }
    if (route.kind === 'raw') return hasBody(x.req) ? readNoInput(x.req, x.res, deps).then(() => runRaw(x, route)) : runRaw(x, route);
    const caller = x.principal ?? PUBLIC_PRINCIPAL;
    deps.invoker.authorize(caller, route.op);
    const input = readOperationInput(route, x.req, x.res, x.q === -1 ? null : x.url.slice(x.q + 1), x.params!, deps, x);
    return input instanceof Promise ? input.then((i) => runOperation(x, route, caller, i)) : runOperation(x, route, caller, input);
  }

  function runRaw(x: Exchange, route: RawRoute): Promise<void> | undefined {
    const out = route.handler();
    return out instanceof Promise ? out.then((result) => sendRaw(x, result)) : sendRaw(x, out);
  }

  function sendRaw(x: Exchange, result: RouteResult): undefined {
    if (result.headers !== undefined) Object.assign(x.responseHeaders, result.headers);
    x.send(result.status, result.body, result.contentType);
    return undefined;
  }

  function runOperation(x: Exchange, route: BoundRoute, caller: Principal, input: Record<string, unknown>): Promise<void> | undefined {
    const key = x.req.headers['idempotency-key'];
    if (typeof key === 'string') x.idempotencyKey = key;
    // A 408 already sent, or a client gone while we waited for its key or body: nothing more may run.
    if (x.ended !== undefined || x.res.destroyed) throw new ExchangeEnded();
    x.invoked = true;
    const invocation = deps.invoker.invokeNow(caller, route.op, input, x);
    return invocation instanceof Promise ? invocation.then((i) => respond(x, route, i)) : respond(x, route, invocation);
  }

  function respond(x: Exchange, route: BoundRoute, { output, replayed }: Invocation): undefined {
    if (x.res.headersSent) return undefined;
    if (replayed) x.responseHeaders['Idempotent-Replayed'] = 'true';
    if (output === null && route.binding.emptyStatus !== undefined) x.send(route.binding.emptyStatus, undefined);
    // A string answer (Buttercup's "DONE" and "") is a JSON string, not raw text.
    else x.send(route.status, typeof output === 'string' ? JSON.stringify(output) : output);
    return undefined;
  }

  function fail(x: Exchange, err: unknown): void {
    const { req, res, route } = x;
    if (x.ended === undefined && (res.destroyed || clientLeft(err))) x.ended = 'aborted';
    const error = x.ended === undefined ? toHttpError(err, x.querySourced) : null;
    if (error?.code === 'server.internal') deps.logger.error(`request ${x.requestId} failed unexpectedly`, err);
    if (error !== null) {
      if (unreadBody(req) || shuttingDown) x.responseHeaders['Connection'] = 'close';
      if (route?.kind === 'operation' && route.binding.errorStyle === 'fastapi') {
        const input = Object.assign(Object.create(null) as Record<string, unknown>, laxBody(route.op.input, x.body, route.bodyFields), x.params);
        sendFastApiError(res, error, { ...x.problemContext, pathFields: route.pathFields, input, body: x.body, basicOnly: route.binding.wwwAuthenticate === 'basic' });
      } else sendProblem(res, error, x.problemContext);
    }
    if (!x.invoked && error?.code !== 'server.overloaded') deps.invoker.auditRefusal(x.principal, route?.kind === 'operation' ? route.op : null, err, x, x.started, x.reason);
  }

  function finish(x: Exchange): void {
    deadlines.untrack(x);
    if (x.cancellation !== null) {
      longPolls.delete(x.cancellation);
      x.cancellation.dispose();
    }
    inFlight--;
    const { res } = x;
    // 499 as nginx counts a client that closed before its answer.
    if (x.ended === undefined && res.destroyed && !res.writableFinished) x.ended = 'aborted';
    const status = x.ended === 'aborted' ? 499 : res.statusCode;
    deps.metrics.recordRequest(x.route?.path ?? 'unmatched', x.method, status);
    if (deps.logger.debugEnabled) {
      const { method, path, requestId, clientId } = x;
      deps.logger.debug(`${method} ${JSON.stringify(path)} ${status} ${(performance.now() - x.started).toFixed(1)}ms request_id=${requestId}${clientId === undefined ? '' : ` client_request_id=${clientId}`}`);
    }
  }

  function failed(x: Exchange, err: unknown): void {
    try {
      fail(x, err);
    } finally {
      finish(x);
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): Promise<void> | undefined {
    inFlight++;
    let x: Exchange;
    let pending: Promise<void> | undefined;
    try {
      x = new Exchange(req, res, env);
    } catch (err) {
      inFlight--;
      throw err;
    }
    try {
      pending = start(x);
    } catch (err) {
      failed(x, err);
      return undefined;
    }
    if (pending === undefined) {
      finish(x);
      return undefined;
    }
    // The exchange waits (for Argon2, its body, the store): only now can it time out.
    if (x.timed) deadlines.track(x);
    return pending.then(
      () => finish(x),
      (err: unknown) => failed(x, err),
    );
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
