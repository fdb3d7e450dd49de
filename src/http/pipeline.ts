// The request pipeline, cheapest step first:
//   request id -> route match -> authenticate (limiter, cache, then Argon2)
//   -> authorize (the operation's scope) -> read the query -> read the body
//   (bounded) -> invoke the operation (validate, idempotency, run, audit)
//   -> response.
// Requests refused before the operation is invoked (401, 403, 429, a bad body)
// are audited here with the same request id the client sees; from `invoke` on,
// the operation layer audits. Nothing throws past here.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ServerLogger } from '../audit/server-logger.js';
import type { AuthResult, Authenticator } from '../auth/authenticate.js';
import { ANONYMOUS_ID, type Principal } from '../auth/principal.js';
import { verifiedPeer, type VerifiedPeer } from '../tls/peer-certificate.js';
import type { Invocation, InvokeOptions, Invoker } from '../operations/invoke.js';
import type { AuthInput } from '../auth/verifier.js';
import { hasBody } from './body.js';
import { clientAddress, type ProxyTrust } from './client-address.js';
import { clientLeft, ExchangeEnded, unreadBody } from './exchange-end.js';
import { laxBody, sendFastApiError } from './fastapi-errors.js';
import { HttpError, toHttpError } from './http-errors.js';
import type { Metrics } from './metrics.js';
import { RequestCancellation } from './request-cancellation.js';
import { clientRequestId, nextRequestId } from './request-id.js';
import { sendJson, sendProblem, type ProblemContext, type ResponseHeaders } from './respond.js';
import { RequestDeadlines, type Deadline } from './request-deadlines.js';
import { readNoInput, readOperationInput } from './operation-input.js';
import { checkRequestLine, requestTarget } from './request-line.js';
import type { BoundRoute, RawRoute, RouteDef, RouteResult } from './route.js';
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

type Ending = 'timeout' | 'aborted' | undefined;
type Served = RawRoute | BoundRoute;

export function createPipeline(deps: PipelineDeps): Pipeline {
  let inFlight = 0;
  let shuttingDown = false;
  const longPolls = new Set<RequestCancellation>();
  const deadlines = new RequestDeadlines(deps.requestTimeoutMs);

  /**
   * One exchange: its state, and the one object the steps hand around, as the
   * operation's InvokeOptions, the authenticator's AuthInput and the timeout
   * sweeper's Deadline (methods, not per-request closures: this is made for
   * every request). Response headers beyond the fixed three are an object
   * made only when something adds one (an error, Connection: close...).
   */
  class Exchange implements InvokeOptions, AuthInput, Deadline {
    readonly transport = 'http' as const;
    readonly started = performance.now();
    readonly requestId = nextRequestId();
    /** The client's own X-Request-Id when safe: shown to it, and audited beside ours. */
    readonly clientId: string | undefined;
    readonly shownId: string;
    readonly method: string;
    readonly isHead: boolean;
    readonly url: string;
    /** Index of '?' in `url`, or -1. */
    readonly q: number;
    readonly path: string;
    readonly remoteAddr: string;
    readonly peer: VerifiedPeer | null;
    readonly auditExtras: { auth: string; clientCert?: string; clientRequestId?: string };
    idempotencyKey: string | undefined = undefined;
    principal: Principal | null = null;
    reason: string | undefined = undefined;
    invoked = false;
    /** The body once read (Buttercup-style error answers quote it). */
    body: unknown = undefined;
    params: Record<string, string> | undefined = undefined;
    route: RouteDef | null = null;
    /** How the exchange ended early, if it did: the answer a 408 gave, or the client gone. */
    ended: Ending = undefined;
    /** Whether a 408 applies (not to long-polls and handoffs), and whether it is registered. */
    timed = true;
    tracked = false;
    at = 0;
    cancellation: RequestCancellation | null = null;
    private extra: ResponseHeaders | null = null;

    constructor(
      readonly req: IncomingMessage,
      readonly res: ServerResponse,
    ) {
      this.clientId = clientRequestId(req.headers['x-request-id']);
      this.shownId = this.clientId ?? this.requestId;
      this.method = req.method ?? 'GET';
      this.isHead = this.method === 'HEAD';
      this.url = requestTarget(req);
      this.q = this.url.indexOf('?');
      this.path = this.q === -1 ? this.url : this.url.slice(0, this.q);
      this.remoteAddr = clientAddress(req, deps.proxies);
      this.peer = verifiedPeer(req.socket);
      this.auditExtras = { auth: 'none' };
      if (this.peer !== null) this.auditExtras.clientCert = this.peer.subject;
      if (this.clientId !== undefined) this.auditExtras.clientRequestId = this.clientId;
    }

    // AuthInput
    get headers(): IncomingHttpHeaders {
      return this.req.headers;
    }
    get clientAddress(): string {
      return this.remoteAddr;
    }
    get connection(): Socket {
      return this.req.socket;
    }

    /** The response headers so far, as an object one may add to. */
    get responseHeaders(): ResponseHeaders {
      return (this.extra ??= { 'X-Request-Id': this.shownId, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    }

    get problemContext(): ProblemContext {
      return { requestId: this.shownId, basicPossible: deps.basicPossible, isHead: this.isHead, headers: this.responseHeaders };
    }

    /** Which input fields came from the query string decides query.invalid versus body.invalid. */
    get querySourced(): ReadonlyMap<string, unknown> | undefined {
      return this.route?.kind === 'operation' ? this.route.queryFields : undefined;
    }

    send(status: number, body: unknown, contentType?: string): void {
      if (shuttingDown) this.responseHeaders['Connection'] = 'close';
      sendJson(this.res, status, body, this.isHead, this.extra ?? this.shownId, contentType);
    }

    // InvokeOptions
    signal(): AbortSignal {
      return this.cancellable().signal;
    }
    ending(): Ending {
      return this.ended;
    }
    statusOf(error: unknown, output?: unknown): number {
      if (this.ended === 'aborted') return 499;
      if (this.res.headersSent) return this.res.statusCode;
      if (error !== undefined) return toHttpError(error, this.querySourced).status;
      const route = this.route;
      if (route?.kind !== 'operation') return 200;
      return output === null && route.binding.emptyStatus !== undefined ? route.binding.emptyStatus : route.status;
    }

    /** The request's cancellation, made on first need (long-polls, MCP, a 408). */
    cancellable(): RequestCancellation {
      if (this.cancellation === null) {
        this.cancellation = new RequestCancellation(this.res);
        if (this.ended !== undefined) this.cancellation.cancel();
      }
      return this.cancellation;
    }

    // Deadline: the 408.
    onExpire(): void {
      this.ended ??= 'timeout';
      const { req, res } = this;
      const bodyPending = unreadBody(req);
      if (bodyPending) this.responseHeaders['Connection'] = 'close';
      sendProblem(res, new HttpError('request.timeout', `The request did not complete within ${deps.requestTimeoutMs} ms.`), this.problemContext);
      this.cancellation?.cancel();
      // Node stops feeding a request whose answer is sent: end the body read ourselves, once the 408 is out.
      if (bodyPending) res.once('finish', () => req.destroy());
    }
  }

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
    if (x.tracked) deadlines.untrack(x);
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
      x = new Exchange(req, res);
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
    if (x.timed) {
      deadlines.track(x);
      x.tracked = true;
    }
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
