// The request pipeline, cheapest step first:
//   request id -> route match -> authenticate (limiter, cache, then Argon2)
//   -> authorize from the route table -> read the body (bounded) -> validate
//   -> idempotency -> handler -> response.
// The audit event is written in `finally`, so 401, 403, 429, 408 and 5xx are
// recorded with the same request id the client sees. Nothing throws past here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AuditLogger } from '../audit/audit-logger.js';
import type { ServerLogger } from '../audit/server-logger.js';
import type { Authenticator } from '../auth/authenticate.js';
import { ANONYMOUS_ID, type Principal } from '../auth/principal.js';
import { hasScope } from '../auth/scopes.js';
import { HttpError, invalidBody, invalidQuery } from '../errors.js';
import { readJsonBody } from './body.js';
import type { Idempotency } from './idempotency.js';
import type { Metrics } from './metrics.js';
import { requestIdFrom } from './request-id.js';
import { sendJson, sendProblem, toHttpError } from './respond.js';
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
}

const NO_FIELDS: Schema = { type: 'object', properties: {} };
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

export function createPipeline(deps: PipelineDeps): Pipeline {
  let inFlight = 0;
  let shuttingDown = false;
  const longPolls = new Set<AbortController>();

  async function authorize(route: RouteDef, req: IncomingMessage, addr: string, state: { principal: Principal | null; reason?: string }): Promise<void> {
    if (route.access === 'public') return;
    const auth = await deps.authenticator.authenticate(req.headers, addr);
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

  async function run(route: RouteDef, params: Record<string, string>, query: URLSearchParams, req: IncomingMessage, principal: Principal, requestId: string, signal: AbortSignal): Promise<RouteResult> {
    if (route.query !== undefined) {
      const errors = validateQuery(route.query, query);
      if (errors.length > 0) throw invalidQuery(errors);
    }
    const body = await readJsonBody(req, deps.maxBodyBytes);
    // A route without a body schema takes no fields: `{}` or nothing.
    const errors = validate(route.body ?? NO_FIELDS, body ?? {});
    if (errors.length > 0) throw invalidBody(errors);
    const ctx: RequestContext = { requestId, principal, params, query, body, headers: req.headers, signal };
    const key = req.headers['idempotency-key'];
    if (route.idempotent === true && typeof key === 'string') {
      return deps.idempotency.run({ principal: principal.id, route: `${route.method} ${route.path}`, key, body: body ?? null }, async () => route.handler(ctx));
    }
    return route.handler(ctx);
  }

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
    const state: { principal: Principal | null; reason?: string } = { principal: null };
    let routeLabel = 'unmatched';
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const problemCtx = { requestId, basicPossible: deps.basicPossible, isHead };
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const onClose = (): void => abort.abort();
    res.on('close', onClose);
    try {
      if (!path.startsWith('/') || url.length > MAX_URL_LENGTH) throw new HttpError('request.bad_path', 'The request target must be an absolute path of at most 8192 bytes.');
      const match = deps.router.match(method, path);
      if (match.kind === 'bad_path') throw new HttpError('request.bad_path', 'The request path has malformed percent-encoding or an over-long segment.');
      if (match.kind === 'not_found') throw new HttpError('route.not_found', 'No route matches this path.');
      if (match.kind === 'method_not_allowed') throw new HttpError('route.method_not_allowed', `Method ${method} is not allowed here.`, { allow: match.allow });
      const { route, params } = match;
      routeLabel = route.path;
      if (route.longPoll === true) longPolls.add(abort);
      else {
        timer = setTimeout(() => {
          if (!res.headersSent && !req.complete) res.setHeader('Connection', 'close');
          sendProblem(res, new HttpError('request.timeout', `The request did not complete within ${deps.requestTimeoutMs} ms.`), problemCtx);
          abort.abort();
        }, deps.requestTimeoutMs);
      }
      await authorize(route, req, addr, state);
      const principal = state.principal ?? { id: ANONYMOUS_ID, scopes: [] };
      const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
      const result = await run(route, params, query, req, principal, requestId, abort.signal);
      if (shuttingDown) res.setHeader('Connection', 'close');
      sendJson(res, result.status, result.body, isHead, result.headers, result.contentType);
    } catch (err) {
      const error = toHttpError(err);
      if (error.code === 'server.internal') deps.logger.error(`request ${requestId} failed unexpectedly`, err);
      // An unread body would be drained by Node before the next request; close instead.
      if (!req.complete || shuttingDown) res.setHeader('Connection', 'close');
      sendProblem(res, error, problemCtx);
    } finally {
      clearTimeout(timer);
      longPolls.delete(abort);
      res.off('close', onClose);
      inFlight--;
      const status = res.statusCode;
      deps.metrics.recordRequest(routeLabel, method, status);
      if (deps.logger.debugEnabled) {
        deps.logger.debug(`${method} ${JSON.stringify(path)} ${status} ${(performance.now() - started).toFixed(1)}ms request_id=${requestId}`);
      }
      if (MUTATING.has(method) || status === 401 || status === 403 || status === 429) {
        deps.audit.log({
          requestId,
          principal: state.principal?.id ?? ANONYMOUS_ID,
          scopes: state.principal?.scopes ?? [],
          method,
          path,
          status,
          durationMs: performance.now() - started,
          remoteAddr: addr,
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
      for (const poll of longPolls) poll.abort();
    },
  };
}
