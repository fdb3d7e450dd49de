// The OpenID Connect link of the verifier chain: `Authorization: Bearer <JWT>`
// verified by jose against the provider's JWKS (jwks-source.ts).
//
// Security notes:
// - Algorithms are an allow-list of asymmetric ones (RS256, PS256, ES256,
//   EdDSA): never `none`, never HMAC, so a token "signed" with the public key
//   as an HMAC secret is refused before any key is looked up.
// - `iss`, `aud` (string or array), `exp`, `nbf` are checked by jose with the
//   configured clock skew; `exp` and `sub` are required; an `iat` in the
//   future (beyond the skew) is refused here, as jose checks it only with a
//   maximum token age.
// - Townhall scopes come only from the token's `scope` (space-separated) or
//   `scp` (array) claim; unknown scopes are ignored, and a token with none
//   gets none (no implicit admin, unlike an API key with an empty list).
import { jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import type { OidcConfig } from '../config/config.js';
import type { DenialReason } from './denial-reasons.js';
import { JwksUnavailableError, type JwksSource } from './jwks-source.js';
import { isScope, type Scope } from './scopes.js';
import { NOT_MINE, type Verifier, type VerifierAnswer } from './verifier.js';

export const ALLOWED_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;

// A subject as we put it into a principal id and an audit line.
const SUBJECT = /^[\x21-\x7e]{1,255}$/;

/** jose error codes -> our closed list of reasons. */
const REASON_BY_CODE: Readonly<Record<string, DenialReason>> = {
  ERR_JWT_EXPIRED: 'token_expired',
  ERR_JOSE_ALG_NOT_ALLOWED: 'token_alg_refused',
  ERR_JWKS_NO_MATCHING_KEY: 'token_unknown_kid',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'token_unknown_kid',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'token_bad_signature',
  ERR_JWS_INVALID: 'token_malformed',
  ERR_JWT_INVALID: 'token_malformed',
  ERR_JOSE_NOT_SUPPORTED: 'token_alg_refused',
};
const REASON_BY_CLAIM: Readonly<Record<string, DenialReason>> = {
  nbf: 'token_not_yet_valid',
  iat: 'token_not_yet_valid',
  iss: 'token_wrong_issuer',
  aud: 'token_wrong_audience',
};

function reasonOf(err: unknown): VerifierAnswer {
  if (err instanceof JwksUnavailableError) return { kind: 'denied', reason: 'jwks_unavailable', retryAfterSecs: err.retryAfterSecs };
  const { code, claim } = err as { code?: string; claim?: string };
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return { kind: 'denied', reason: REASON_BY_CLAIM[claim ?? ''] ?? 'token_claims_invalid' };
  return { kind: 'denied', reason: REASON_BY_CODE[code ?? ''] ?? 'token_malformed' };
}

/** The token's scopes: `scope` (space-separated string) or `scp` (array, or string). */
export function tokenScopes(payload: JWTPayload): string[] {
  const raw = payload['scope'] ?? payload['scp'];
  if (typeof raw === 'string') return raw.split(' ').filter((s) => s !== '');
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string');
  return [];
}

export interface OidcVerifierOptions {
  config: OidcConfig;
  jwks: JwksSource;
  clock: Clock;
}

export function createOidcVerifier(opts: OidcVerifierOptions): Verifier {
  const { config, jwks, clock } = opts;

  async function check(token: string): Promise<VerifierAnswer> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks.getKey, {
        issuer: config.issuer,
        audience: [...config.audience],
        algorithms: [...ALLOWED_ALGORITHMS],
        clockTolerance: config.clockSkewSecs,
        currentDate: new Date(clock.now()),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      return reasonOf(err);
    }
    if (typeof payload.iat === 'number' && payload.iat > clock.now() / 1000 + config.clockSkewSecs) return { kind: 'denied', reason: 'token_not_yet_valid' };
    if (typeof payload.sub !== 'string' || !SUBJECT.test(payload.sub)) return { kind: 'denied', reason: 'token_claims_invalid' };
    const scopes = tokenScopes(payload);
    const missing = config.requiredScopes.find((s) => !scopes.includes(s));
    if (missing !== undefined) return { kind: 'denied', reason: 'missing_required_scope', requiredScope: missing };
    const granted: Scope[] = [...new Set(scopes.filter(isScope))];
    return { kind: 'principal', principal: { id: `oidc:${payload.sub}`, scopes: granted } };
  }

  return {
    method: 'oidc',
    verify({ credential }) {
      // With accept_api_keys the API-key verifier runs first and keeps non-JWT Bearers.
      if (credential.kind !== 'bearer') return NOT_MINE;
      return check(credential.token);
    },
    provenBefore() {
      // Tokens are not cached: a blocked address gets 429 for them too.
      return false;
    },
  };
}
