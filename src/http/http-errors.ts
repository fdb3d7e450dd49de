// The HTTP binding's one table of errors: every problem the REST API can
// answer with, its status and title, and which operation error code maps to
// it. Transport-only problems (no route, bad path, body framing) are thrown
// here as `HttpError`; operation errors (`OpError`) are translated by
// `toHttpError`. The problem `type` URIs are stable and documented.
import { OpError, type ErrorCode, type ErrorExtras, type FieldError } from '../errors.js';
import { StoreUnavailableError } from '../store/store-errors.js';

export const HTTP_ERRORS = {
  'auth.unauthorized': { status: 401, title: 'Unauthorized' },
  'scope.denied': { status: 403, title: 'Forbidden' },
  'rate.limited': { status: 429, title: 'Too Many Requests' },
  'auth.busy': { status: 503, title: 'Service Unavailable' },
  'auth.unavailable': { status: 503, title: 'Service Unavailable' },
  'admin.reload_failed': { status: 409, title: 'Conflict' },
  'route.not_found': { status: 404, title: 'Not Found' },
  'route.method_not_allowed': { status: 405, title: 'Method Not Allowed' },
  'request.bad_path': { status: 400, title: 'Bad Request' },
  'request.malformed': { status: 400, title: 'Bad Request' },
  'request.version': { status: 505, title: 'HTTP Version Not Supported' },
  'request.timeout': { status: 408, title: 'Request Timeout' },
  'body.too_large': { status: 413, title: 'Payload Too Large' },
  'body.unsupported_media_type': { status: 415, title: 'Unsupported Media Type' },
  'body.malformed_json': { status: 400, title: 'Bad Request' },
  'body.invalid': { status: 422, title: 'Unprocessable Entity' },
  'query.invalid': { status: 422, title: 'Unprocessable Entity' },
  'idempotency.mismatch': { status: 422, title: 'Unprocessable Entity' },
  'town.agent_not_found': { status: 404, title: 'Not Found' },
  'town.task_not_found': { status: 404, title: 'Not Found' },
  'town.agent_exists': { status: 409, title: 'Conflict' },
  'town.agent_state': { status: 409, title: 'Conflict' },
  'town.agent_limit': { status: 409, title: 'Conflict' },
  'town.task_state': { status: 409, title: 'Conflict' },
  'town.not_in_backlog': { status: 409, title: 'Conflict' },
  'server.shutting_down': { status: 503, title: 'Service Unavailable' },
  'server.overloaded': { status: 503, title: 'Service Unavailable' },
  'store.unavailable': { status: 503, title: 'Service Unavailable' },
  'server.internal': { status: 500, title: 'Internal Server Error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type HttpCode = keyof typeof HTTP_ERRORS;

/** Operation codes -> problems. `input.invalid` is split by where the bad fields came from (see `toHttpError`). */
const FROM_OPERATION: Readonly<Record<Exclude<ErrorCode, 'input.invalid'>, HttpCode>> = {
  'auth.unauthorized': 'auth.unauthorized',
  'scope.denied': 'scope.denied',
  'rate.limited': 'rate.limited',
  'auth.busy': 'auth.busy',
  'auth.unavailable': 'auth.unavailable',
  'config.reload_failed': 'admin.reload_failed',
  'idempotency.mismatch': 'idempotency.mismatch',
  'agent.not_found': 'town.agent_not_found',
  'agent.exists': 'town.agent_exists',
  'agent.state_conflict': 'town.agent_state',
  'agent.limit_reached': 'town.agent_limit',
  'task.not_found': 'town.task_not_found',
  'task.state_conflict': 'town.task_state',
  'task.not_in_backlog': 'town.not_in_backlog',
  'request.timeout': 'request.timeout',
  'server.shutting_down': 'server.shutting_down',
  'store.unavailable': 'store.unavailable',
  'server.internal': 'server.internal',
};

/** The problem codes an operation error code can become, for OpenAPI. */
export function httpCodesOf(code: ErrorCode): HttpCode[] {
  return code === 'input.invalid' ? ['body.invalid', 'query.invalid'] : [FROM_OPERATION[code]];
}

export interface HttpErrorExtras extends ErrorExtras {
  /** Allowed methods, for 405. */
  allow?: readonly string[];
}

export class HttpError extends Error {
  readonly code: HttpCode;
  readonly status: number;
  readonly detail: string;
  readonly extras: HttpErrorExtras;

  constructor(code: HttpCode, detail: string, extras: HttpErrorExtras = {}) {
    super(`${code}: ${detail}`);
    this.name = 'HttpError';
    this.code = code;
    this.status = HTTP_ERRORS[code].status;
    this.detail = detail;
    this.extras = extras;
  }
}

/** The problem `type` URI for a code: stable, documented, and never a secret. */
export function problemType(code: HttpCode): string {
  return `https://townhall.dev/problems/${code.replace(/[._]/g, '-')}`;
}

export function invalidBody(errors: FieldError[]): HttpError {
  return new HttpError('body.invalid', 'The request body has invalid fields.', { errors });
}

export function invalidQuery(errors: FieldError[]): HttpError {
  return new HttpError('query.invalid', 'The query string has invalid parameters.', { errors });
}

/**
 * Any error -> the problem to answer with. `querySourced` names the input
 * fields that came from the query string: invalid input only there is a
 * `query.invalid`, anything else a `body.invalid`, as before operations existed.
 */
export function toHttpError(err: unknown, querySourced?: { has(field: string): boolean }): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof OpError) {
    if (err.code === 'input.invalid') {
      const errors = err.extras.errors ?? [];
      const inQuery = querySourced !== undefined && errors.length > 0 && errors.every((e) => querySourced.has(e.pointer.split('/')[1] ?? ''));
      return inQuery ? invalidQuery(errors) : invalidBody(errors);
    }
    return new HttpError(FROM_OPERATION[err.code], err.detail, err.extras);
  }
  if (err instanceof StoreUnavailableError) {
    return new HttpError('store.unavailable', 'The data store cannot accept requests; an operator must look at the server log.', { retry_after_secs: 30 });
  }
  return new HttpError('server.internal', 'An unexpected error occurred; the request id identifies it in the server log.');
}
