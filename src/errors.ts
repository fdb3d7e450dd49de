// The closed list of error codes Townhall can answer with, and the one table
// mapping each to an HTTP status and title. Handlers throw `HttpError` with a
// code; `sendProblem` (src/http/problem.ts) is the only place that renders it.
//
// Security: `detail` must only ever be a string we wrote. Never interpolate a
// header, a token or an exception message from a library into it.

export const ERROR_TABLE = {
  // One code for every 401: the client must not learn why (missing, wrong,
  // expired, disabled); the reason goes to the audit log and metrics only.
  'auth.unauthorized': { status: 401, title: 'Unauthorized' },
  'scope.denied': { status: 403, title: 'Forbidden' },
  'rate.limited': { status: 429, title: 'Too Many Requests' },
  'auth.busy': { status: 503, title: 'Service Unavailable' },
  // OIDC: the identity provider's JWKS cannot be fetched (our outage, not a bad token).
  'auth.unavailable': { status: 503, title: 'Service Unavailable' },
  // POST /v1/admin/reload: the new configuration was refused; the old one keeps running.
  'admin.reload_failed': { status: 409, title: 'Conflict' },
  'route.not_found': { status: 404, title: 'Not Found' },
  'route.method_not_allowed': { status: 405, title: 'Method Not Allowed' },
  'request.bad_path': { status: 400, title: 'Bad Request' },
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
  'town.task_state': { status: 409, title: 'Conflict' },
  'town.not_in_backlog': { status: 409, title: 'Conflict' },
  'server.shutting_down': { status: 503, title: 'Service Unavailable' },
  'store.unavailable': { status: 503, title: 'Service Unavailable' },
  'server.internal': { status: 500, title: 'Internal Server Error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** One field-level problem, as a JSON Pointer into the request body or query. */
export interface FieldError {
  pointer: string;
  message: string;
}

/** Extra members allowed on a problem body; each is built from our own values. */
export interface ProblemExtras {
  errors?: FieldError[];
  /** The missing scope on a 403. */
  required_scope?: string;
  /** The current state on a 409 for an illegal transition. */
  current_state?: string;
  /** Seconds, for 429 and 503. */
  retry_after_secs?: number;
  /** Allowed methods, for 405. */
  allow?: readonly string[];
  /** RFC 6750 `error` on a 401's Bearer challenge, when a credential was presented and failed. */
  bearer_error?: 'invalid_token';
}

export class HttpError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  readonly extras: ProblemExtras;

  constructor(code: ErrorCode, detail: string, extras: ProblemExtras = {}) {
    super(`${code}: ${detail}`);
    this.name = 'HttpError';
    this.code = code;
    this.status = ERROR_TABLE[code].status;
    this.detail = detail;
    this.extras = extras;
  }
}

/** A 422 for invalid fields, with one `{pointer, message}` per problem. */
export function invalidBody(errors: FieldError[]): HttpError {
  return new HttpError('body.invalid', 'The request body has invalid fields.', { errors });
}

export function invalidQuery(errors: FieldError[]): HttpError {
  return new HttpError('query.invalid', 'The query string has invalid parameters.', { errors });
}

/** The problem `type` URI for a code: stable, documented, and never a secret. */
export function problemType(code: ErrorCode): string {
  return `https://townhall.dev/problems/${code.replace(/[._]/g, '-')}`;
}
