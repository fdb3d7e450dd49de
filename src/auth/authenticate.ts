// Turns a request's headers and address into a Principal or a refusal, for
// the configured auth mode. The precise failure reason is returned for the
// audit log and metrics; the client always sees the same 401.
import type { IncomingHttpHeaders } from 'node:http';
import { OpError } from '../errors.js';
import type { AuthMode } from '../config/config.js';
import type { ApiKeyOutcome, ApiKeyVerifier } from './api-keys.js';
import { parseCredential } from './credentials.js';
import type { FailureLimiter } from './failure-limiter.js';
import type { Principal } from './principal.js';

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; error: OpError; reason: string };

export interface Authenticator {
  /** Synchronous when the answer needs no Argon2 run (mode none, a cached key, a refusal). */
  authenticate(headers: IncomingHttpHeaders, clientAddress: string): AuthResult | Promise<AuthResult>;
}

const LOCAL: Principal = { id: 'local', scopes: ['admin'] };
const UNAUTHORIZED_DETAIL = 'A valid API key is required.';

export function createAuthenticator(mode: AuthMode, verifier: ApiKeyVerifier | null, limiter: FailureLimiter): Authenticator {
  if (mode === 'none') {
    const local: AuthResult = { ok: true, principal: LOCAL };
    return { authenticate: () => local };
  }
  if (verifier === null) throw new Error(`auth mode ${mode} needs a verifier`);
  return {
    authenticate(headers, clientAddress) {
      const credential = parseCredential(headers);
      if (credential.kind === 'none') {
        return { ok: false, reason: 'missing', error: new OpError('auth.unauthorized', UNAUTHORIZED_DETAIL) };
      }
      const retryAfter = limiter.blockedFor(clientAddress);
      if (retryAfter > 0) {
        return {
          ok: false,
          reason: 'rate_limited',
          error: new OpError('rate.limited', 'Too many failed authentication attempts; try again later.', { retry_after_secs: retryAfter }),
        };
      }
      const outcome = verifier.verifyApiKey(credential);
      return outcome instanceof Promise ? outcome.then((o) => conclude(o, clientAddress)) : conclude(outcome, clientAddress);
    },
  };

  function conclude(outcome: ApiKeyOutcome, clientAddress: string): AuthResult {
    if (outcome.ok) return outcome;
    if (outcome.reason === 'busy') {
      return {
        ok: false,
        reason: 'busy',
        error: new OpError('auth.busy', 'The server is busy verifying credentials; retry shortly.', { retry_after_secs: 1 }),
      };
    }
    limiter.recordFailure(clientAddress);
    return { ok: false, reason: outcome.reason, error: new OpError('auth.unauthorized', UNAUTHORIZED_DETAIL) };
  }
}
