// The one closed list of reasons an authentication can be refused, whatever
// verifier refused it (API key, OIDC, client certificate), and what each
// means: the error the client gets, and whether it counts as a failed attempt
// for the limiter. The audit log (`reason=`) and the metrics
// (`townhall_auth_failures_total{reason=}`) use these same names.
//
// All 401 reasons give the client the same body; only the audit log and the
// metrics say which one it was.
import type { ErrorCode } from '../errors.js';
// Transport-neutral codes (errors.ts): HTTP maps them to statuses in http/http-errors.ts.

export const DENIAL_REASONS = {
  // No credential at all: the client may not know auth is needed; not counted.
  missing: { code: 'auth.unauthorized', counts: false },
  // A credential no verifier of this mode accepts (e.g. X-API-Key in mode oidc).
  unsupported_credential: { code: 'auth.unauthorized', counts: true },
  // API keys.
  malformed: { code: 'auth.unauthorized', counts: true },
  unknown_key: { code: 'auth.unauthorized', counts: true },
  wrong_secret: { code: 'auth.unauthorized', counts: true },
  expired: { code: 'auth.unauthorized', counts: true },
  disabled: { code: 'auth.unauthorized', counts: true },
  // OIDC tokens.
  token_malformed: { code: 'auth.unauthorized', counts: true },
  token_alg_refused: { code: 'auth.unauthorized', counts: true },
  token_unknown_kid: { code: 'auth.unauthorized', counts: true },
  token_bad_signature: { code: 'auth.unauthorized', counts: true },
  token_expired: { code: 'auth.unauthorized', counts: true },
  token_not_yet_valid: { code: 'auth.unauthorized', counts: true },
  token_wrong_issuer: { code: 'auth.unauthorized', counts: true },
  token_wrong_audience: { code: 'auth.unauthorized', counts: true },
  token_claims_invalid: { code: 'auth.unauthorized', counts: true },
  // A valid token without a scope [townhall.auth] required_scopes lists: 403.
  missing_required_scope: { code: 'scope.denied', counts: false },
  // The identity provider's keys cannot be fetched: our problem, not the client's.
  jwks_unavailable: { code: 'auth.unavailable', counts: false },
  // Client certificates: verified by the handshake, but no [[townhall.mtls.clients]] entry names it.
  cert_unknown_subject: { code: 'auth.unauthorized', counts: true },
  // Refusals before any verifier ran.
  rate_limited: { code: 'rate.limited', counts: false },
  busy: { code: 'auth.busy', counts: false },
} as const satisfies Record<string, { code: ErrorCode; counts: boolean }>;

export type DenialReason = keyof typeof DENIAL_REASONS;

export function isDenialReason(value: string): value is DenialReason {
  return Object.hasOwn(DENIAL_REASONS, value);
}
