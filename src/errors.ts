// The closed list of error codes an operation can end with, whatever the
// transport. The town and the operation layer throw `OpError(code)`; each
// transport maps codes to its own shape in one place (HTTP: status and RFC 7807
// body in src/http/http-errors.ts; MCP: a tool error in src/mcp/).
//
// Security: `detail` must only ever be a string we wrote. Never interpolate a
// header, a token or an exception message from a library into it.

/**
 * How a failure reads to the caller, whatever the transport:
 * - `denied`: the caller may not (audited as a denial);
 * - `refused`: this request, as sent, cannot succeed (bad input, unknown or
 *   conflicting target): an idempotent retry gets the same answer again;
 * - `transient`: try again later (busy, unavailable, timed out);
 * - `internal`: our fault.
 */
export type ErrorClass = 'denied' | 'refused' | 'transient' | 'internal';

export const ERROR_CODES = {
  // One code for every failed authentication: the client must not learn why
  // (missing, wrong, expired, disabled); the reason goes to audit and metrics.
  'auth.unauthorized': 'denied',
  'scope.denied': 'denied',
  'rate.limited': 'denied',
  'auth.busy': 'transient',
  // OIDC: the identity provider's signing keys cannot be fetched (our outage, not a bad token).
  'auth.unavailable': 'transient',
  // A reload found the new configuration invalid; the running one is unchanged.
  'config.reload_failed': 'refused',
  'input.invalid': 'refused',
  'idempotency.mismatch': 'refused',
  'agent.not_found': 'refused',
  'agent.exists': 'refused',
  'agent.state_conflict': 'refused',
  'agent.limit_reached': 'refused',
  'task.not_found': 'refused',
  'task.state_conflict': 'refused',
  'task.not_in_backlog': 'refused',
  'request.timeout': 'transient',
  'server.shutting_down': 'transient',
  'store.unavailable': 'transient',
  'server.internal': 'internal',
} as const satisfies Record<string, ErrorClass>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function classOf(code: ErrorCode): ErrorClass {
  return ERROR_CODES[code];
}

/** Codes that are a refusal of the caller (audited as `denied`, not `error`). */
export const DENIAL_CODES: ReadonlySet<ErrorCode> = new Set((Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c] === 'denied'));

/** One field-level problem, as a JSON Pointer into the operation's input. */
export interface FieldError {
  pointer: string;
  message: string;
}

/** Extra members allowed on an error; each is built from our own values. */
export interface ErrorExtras {
  errors?: FieldError[];
  /** The missing scope on a scope denial. */
  required_scope?: string;
  /** The current state on an illegal transition. */
  current_state?: string;
  /** Seconds, for rate limits and unavailability. */
  retry_after_secs?: number;
  /** RFC 6750 `error` for a Bearer challenge: a credential was presented and failed. */
  bearer_error?: 'invalid_token';
}

export class OpError extends Error {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly extras: ErrorExtras;

  constructor(code: ErrorCode, detail: string, extras: ErrorExtras = {}) {
    super(`${code}: ${detail}`);
    this.name = 'OpError';
    this.code = code;
    this.detail = detail;
    this.extras = extras;
  }
}

/** Invalid input fields, one `{pointer, message}` per problem. */
export function invalidInput(errors: FieldError[]): OpError {
  return new OpError('input.invalid', 'The input has invalid fields.', { errors });
}
