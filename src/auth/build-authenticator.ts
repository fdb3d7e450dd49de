// Builds the verifier chain for a Config: which verifiers, in which order.
// Called at start-up and again on every reload (so a reload starts with an
// empty verified-key cache); what must outlive a reload (the failure limiter,
// the Argon2 gate, key usage times) is passed in.
//
//   mode none     everyone is the local admin (loopback only)
//   mode api_key  [API keys]
//   mode oidc     [API keys if accept_api_keys, OIDC]
//   mode mtls     [API keys if any are configured, client certificate]
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Argon2Gate } from './argon2-gate.js';
import { apiKeyVerifier } from './api-key-verifier.js';
import { createApiKeyVerifier } from './api-keys.js';
import { createAuthenticator, createOpenAuthenticator, type Authenticator } from './authenticate.js';
import { clientCertVerifier } from './client-cert-verifier.js';
import type { FailureLimiter } from './failure-limiter.js';
import { createJwksSource, type FetchJson } from './jwks-source.js';
import type { KeyUsage } from './key-usage.js';
import { createOidcVerifier } from './oidc-verifier.js';
import type { Verifier } from './verifier.js';

export interface AuthRuntime {
  clock: Clock;
  limiter: FailureLimiter;
  gate: Argon2Gate;
  usage: KeyUsage;
  metrics: { recordArgon2(): void; recordCacheHit(): void };
  log: { warn(message: string): void; info(message: string): void };
  /** Tests may replace how the JWKS is fetched; production uses fetch(). */
  fetchJson?: FetchJson;
}

const DETAILS = {
  api_key: 'A valid API key is required.',
  oidc: 'A valid access token is required.',
  mtls: 'A valid client certificate is required.',
} as const;

export async function buildAuthenticator(config: Config, rt: AuthRuntime): Promise<Authenticator> {
  const { auth } = config;
  if (auth.mode === 'none') return createOpenAuthenticator();
  const verifiers: Verifier[] = [];
  const useKeys = auth.mode === 'api_key' || (auth.keys.length > 0 && (auth.mode === 'mtls' || auth.acceptApiKeys));
  if (useKeys) {
    const keys = await createApiKeyVerifier({
      keys: auth.keys,
      clock: rt.clock,
      cacheTtlMs: auth.verifyCacheTtlSecs * 1000,
      gate: rt.gate,
      onArgon2: () => rt.metrics.recordArgon2(),
      onCacheHit: () => rt.metrics.recordCacheHit(),
      onUsed: (id) => rt.usage.touch(id),
    });
    verifiers.push(apiKeyVerifier(keys, auth.mode === 'oidc'));
  }
  if (auth.mode === 'oidc') {
    const oidc = auth.oidc!;
    const jwks = createJwksSource({ issuer: oidc.issuer, jwksUrl: oidc.jwksUrl, clock: rt.clock, log: rt.log, ...(rt.fetchJson ? { fetchJson: rt.fetchJson } : {}) });
    verifiers.push(createOidcVerifier({ config: oidc, jwks, clock: rt.clock }));
  }
  if (auth.mode === 'mtls') verifiers.push(clientCertVerifier(config.mtls!.clients));
  return createAuthenticator({ verifiers, limiter: rt.limiter, unauthorizedDetail: DETAILS[auth.mode] });
}

/** An authenticator whose chain a reload can replace; requests in flight finish on the old one. */
export interface LiveAuthenticator extends Authenticator {
  replace(next: Authenticator): void;
}

export function createLiveAuthenticator(initial: Authenticator): LiveAuthenticator {
  let current = initial;
  return {
    authenticate: (input) => current.authenticate(input),
    replace(next) {
      current = next;
    },
  };
}
