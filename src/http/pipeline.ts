// The request pipeline, cheapest step first:
//   request id -> route match -> authenticate (limiter, cache, then Argon2)
//   -> authorize from the route table -> validate the query -> read the body
//   (bounded) -> validate it -> idempotency -> handler -> response.
// The audit event is written in `finally`, so 401, 403, 429, 408 and 5xx are
// recorded with the same request id the client sees. Nothing throws past here.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AuditLogger } from '../audit/audit-logger.js';
import type { ServerLogger } from '../audit/server-logger.js';
import type { AuthResult, Authenticator } from '../auth/authenticate.js';
import { ANONYMOUS_ID, type Principal } from '../auth/principal.js';
import { hasScope, type Scope } from '../auth/scopes.js';
import type { AuthMethod } from '../auth/verifier.js';
import { verifiedPeer } from '../tls/peer-certificate.js';
import { HttpError, invalidBody, invalidQuery } from '../errors.js';
import { hasBody, readJsonBody } from './body.js';
import type { Idempotency } from './idempotency.js';
import type { Metrics } from './metrics.js';
import { RequestCancellation } from './request-cancellation.js';
import { requestIdFrom } from './request-id.js';
import { sendJson, sendProblem, toHttpError, type ResponseHeaders } from './respond.js';
import { RequestDeadlines, type Deadline } from './request-deadlines.js';
import type { RequestContext, RouteDef, RouteResult } from './route.js';
import type { Router } from './router.js';
import { validateQuery } from './query.js';
import { validate, type Schema } from './schema.js';

export interface PipelineDeps {
  router: Router;
  authenticator: Authenticator;
  audit: AuditLogger;
  logger: ServerLogger;
  metrics: Metrics;
  idempotency: Idempotency;
  requestTimeoutMs: number;
  maxBodyBytes: number;
  trustProxy: boolean;
  basicPossible: boolean;
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

/**
 * A body still on the wire would be drained by Node before the next request,
 * so such a connection is closed instead. A request without a body has nothing
 * to drain, even if its parser has not marked it complete yet (a synchronous
 * refusal runs before that).
 */
function unreadBody(req: IncomingMessage): boolean {
  return hasBody(req) && !req.complete;
}

function successStatusOf(route: RouteDef): number {
  return Number(Object.keys(route.success)[0] ?? 200);
}

const NO_FIELDS: Schema = { type: 'object', properties: {} };
const PUBLIC_PRINCIPAL: Principal = Object.freeze({ id: ANONYMOUS_ID, scopes: Object.freeze([]) });
// Shared by every request without a query string; handlers only read queries.
const EMPTY_QUERY = new URLSearchParams();
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const MAX_URL_LENGTH = 8192;

function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** The client's address; X-Forwarded-For (right-most entry, set by our proxy) only when trusted. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  if (trustProxy && typeof forwarded === 'string') {
    const last = forwarded.split(',').map((s) => s.trim()).filter((s) => s !== '').pop();
    if (last !== undefined && last.length <= 64 && /^[0-9A-Fa-f:.]+$/.test(last)) return normalizeAddress(last);
  }
  return normalizeAddress(req.socket.remoteAddress);
}

/** The handler's view of a request; the AbortSignal is made only if asked for. */
class Context implements RequestContext {
  constructor(
    readonly requestId: string,
    readonly principal: Principal,
    readonly params: Readonly<Record<string, string>>,
    readonly query: URLSearchParams,
    readonly body: unknown,
    readonly headers: IncomingHttpHeaders,
    private readonly cancellation: RequestCancellation,
  ) {}

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }
}

interface AuthState {
  principal: Principal | null;
  reason?: string;
  method?: AuthMethod;
}

export function createPipeline(deps: PipelineDeps): Pipeline {
  let inFlight = 0;
  let shuttingDown = false;
  const longPolls = new Set<RequestCancellation>();
  const deadlines = new RequestDeadlines(deps.requestTimeoutMs);

  function authorize(route: RouteDef & { access: Scope }, auth: AuthResult, state: AuthState): void {
    state.method = auth.method;
    if (!auth.ok) {
      state.reason = auth.reason;
      deps.metrics.recordAuthFailure(auth.reason);
      throw auth.error;
    }
    state.principal = auth.principal;
    if (!hasScope(auth.principal.scopes, route.access)) {
      state.reason = 'insufficient_scope';
      throw new HttpError('scope.denied', `This operation requires the "${route.access}" scope.`, { required_scope: route.access });
    }
  }

  function dispatch(route: RouteDef, ctx: Context, req: IncomingMessage): Promise<RouteResult> | RouteResult {
    const key = req.headers['idempotency-key'];
    if (route.idempotent === true && typeof key === 'string') {
      const scope = { principal: ctx.principal.id, route: `${route.method} ${route.path}`, key, body: ctx.body ?? null, successStatus: successStatusOf(route) };
      return deps.idempotency.run(scope, async () => route.handler(ctx));
    }
    return route.handler(ctx);
  }

  // The common path (cached key, no body, quick handler) awaits only what is
  // really asynchronous: each await costs a microtask and an allocation, and
  // this path must cost about what bare node:http does.
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    inFlight++;
    const started = performance.now();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const method = req.method ?? 'GET';
    const isHead = method === 'HEAD';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const addr = clientAddress(req, deps.trustProxy);
    const state: AuthState = { principal: null };
    let routeLabel = 'unmatched';
    const cancellation = new RequestCancellation(res);
    let deadline: Deadline | undefined;
    const headers: ResponseHeaders = { 'X-Request-Id': requestId, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
    const problemCtx = { requestId, basicPossible: deps.basicPossible, isHead, headers };
    try {
      if (!path.startsWith('/') || url.length > MAX_URL_LENGTH) throw new HttpError('request.bad_path', 'The request target must be an absolute path of at most 8192 bytes.');
      const match = deps.router.match(method, path);
      if (match.kind === 'bad_path') throw new HttpError('request.bad_path', 'The request path has malformed percent-encoding or an over-long segment.');
      if (match.kind === 'not_found') throw new HttpError('route.not_found', 'No route matches this path.');
      if (match.kind === 'method_not_allowed') throw new HttpError('route.method_not_allowed', `Method ${method} is not allowed here.`, { allow: match.allow });
      const { route, params } = match;
      routeLabel = route.path;
      if (route.longPoll === true) longPolls.add(cancellation);
      else {
        deadline = deadlines.track(() => {
          if (unreadBody(req)) headers['Connection'] = 'close';
          sendProblem(res, new HttpError('request.timeout', `The request did not complete within ${deps.requestTimeoutMs} ms.`), problemCtx);
          cancellation.cancel();
        });
      }
      if (route.access !== 'public') {
        const auth = deps.authenticator.authenticate({ headers: req.headers, clientAddress: addr, peer: verifiedPeer(req.socket) });
        authorize(route as RouteDef & { access: Scope }, auth instanceof Promise ? await auth : auth, state);
      }
      const query = q === -1 ? EMPTY_QUERY : new URLSearchParams(url.slice(q + 1));
      if (route.query !== undefined) {
        const errors = validateQuery(route.query, query);
        if (errors.length > 0) throw invalidQuery(errors);
      }
      const body = hasBody(req) ? await readJsonBody(req, deps.maxBodyBytes) : undefined;
      if (body !== undefined || route.body !== undefined) {
        // A route without a body schema takes no fields: `{}` or nothing.
        const errors = validate(route.body ?? NO_FIELDS, body ?? {});
        if (errors.length > 0) throw invalidBody(errors);
      }
      const ctx = new Context(requestId, state.principal ?? PUBLIC_PRINCIPAL, params, query, body, req.headers, cancellation);
      const out = dispatch(route, ctx, req);
      const result = out instanceof Promise ? await out : out;
      if (shuttingDown) headers['Connection'] = 'close';
      if (result.headers !== undefined) Object.assign(headers, result.headers);
      sendJson(res, result.status, result.body, isHead, headers, result.contentType);
    } catch (err) {
      const error = toHttpError(err);
      if (error.code === 'server.internal') deps.logger.error(`request ${requestId} failed unexpectedly`, err);
      if (unreadBody(req) || shuttingDown) headers['Connection'] = 'close';
      sendProblem(res, error, problemCtx);
    } finally {
      deadlines.untrack(deadline);
      longPolls.delete(cancellation);
      cancellation.dispose();
      inFlight--;
      const status = res.statusCode;
      deps.metrics.recordRequest(routeLabel, method, status);
      if (deps.logger.debugEnabled) {
        deps.logger.debug(`${method} ${JSON.stringify(path)} ${status} ${(performance.now() - started).toFixed(1)}ms request_id=${requestId}`);
      }
      if (MUTATING.has(method) || status === 401 || status === 403 || status === 429 || state.reason !== undefined) {
        const peer = verifiedPeer(req.socket);
        deps.audit.log({
          requestId,
          principal: state.principal?.id ?? ANONYMOUS_ID,
          scopes: state.principal?.scopes ?? [],
          method,
          path,
          status,
          durationMs: performance.now() - started,
          remoteAddr: addr,
          auth: state.method ?? 'none',
          ...(peer === null ? {} : { clientCert: peer.subject }),
          ...(state.reason === undefined ? {} : { reason: state.reason }),
        });
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
