// The API-key link of the verifier chain: Bearer, X-API-Key and Basic
// credentials checked against the configured Argon2id hashes (api-keys.ts).
// In mode oidc with accept_api_keys, a JWT-shaped Bearer is left to OIDC.
import type { ApiKeyVerifier } from './api-keys.js';
import { NOT_MINE, type Verifier, type VerifierAnswer } from './verifier.js';
import type { ApiKeyOutcome } from './api-keys.js';

// Three base64url parts (the third empty for alg "none"); API keys never contain a dot.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function isJwtShaped(token: string): boolean {
  return JWT_SHAPE.test(token);
}

function answerOf(outcome: ApiKeyOutcome): VerifierAnswer {
  if (outcome.ok) return { kind: 'principal', principal: outcome.principal };
  return { kind: 'denied', reason: outcome.reason };
}

export function apiKeyVerifier(keys: ApiKeyVerifier, leaveJwtsToOidc: boolean): Verifier {
  return {
    method: 'api_key',
    verify({ credential, clientAddress, connection }) {
      if (credential.kind === 'none') return NOT_MINE;
      if (leaveJwtsToOidc && credential.kind === 'bearer' && isJwtShaped(credential.token)) return NOT_MINE;
      const outcome = keys.verifyApiKey(credential, clientAddress, connection);
      return outcome instanceof Promise ? outcome.then(answerOf) : answerOf(outcome);
    },
    provenBefore({ credential }) {
      return keys.isCached(credential);
    },
  };
}
