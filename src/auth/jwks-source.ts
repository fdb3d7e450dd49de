// The identity provider's signing keys (JWKS) for OIDC token verification:
// found by discovery (`<issuer>/.well-known/openid-configuration`) unless
// jwks_url is given, fetched, cached, and handed to jose's local JWKS
// resolver, which does all key selection and import (no JWK handling here).
//
// Refetch rules, after jose's remote JWKS set:
// - one fetch in flight at a time; concurrent callers share it;
// - an unknown `kid` refetches at most once per `minRefetchMs` (30 s): a burst
//   of tokens with invented kids costs the provider one request, not one each;
// - keys older than `maxAgeMs` are refreshed when next used; if that fails the
//   old keys stay in use (logged);
// - no keys at all and the provider unreachable: JwksUnavailableError, which
//   the verifier answers with 503 + Retry-After (our outage, not a bad token).
//
// Security: the JWKS and discovery URLs must be https (or loopback), checked
// at start-up for the configured ones and here for a discovered jwks_uri;
// redirects are refused; responses are size-bounded.
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Clock } from '../clock.js';
import { isAllowedIdpUrl } from '../config/oidc-config.js';

export class JwksUnavailableError extends Error {
  constructor(readonly retryAfterSecs: number) {
    super('the JWKS cannot be fetched');
    this.name = 'JwksUnavailableError';
  }
}

export type FetchJson = (url: string) => Promise<unknown>;

export interface JwksSourceOptions {
  issuer: string;
  /** Null: discover it from the issuer. */
  jwksUrl: string | null;
  clock: Clock;
  log: { warn(message: string): void; info(message: string): void };
  fetchJson?: FetchJson;
  minRefetchMs?: number;
  /** After a failed fetch, wait this long before the next try. */
  failureBackoffMs?: number;
  maxAgeMs?: number;
}

export interface JwksSource {
  /** For jose's jwtVerify. */
  readonly getKey: JWTVerifyGetKey;
}

const MAX_BYTES = 512 * 1024;

/** GET a JSON document with a timeout, no redirects, and a size bound. */
export const fetchJsonOverHttp: FetchJson = async (url) => {
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = await res.arrayBuffer();
  if (body.byteLength > MAX_BYTES) throw new Error(`response larger than ${MAX_BYTES} bytes`);
  return JSON.parse(Buffer.from(body).toString('utf8')) as unknown;
};

function isJwks(value: unknown): value is JSONWebKeySet {
  return typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys);
}

export function createJwksSource(opts: JwksSourceOptions): JwksSource {
  const { clock, log } = opts;
  const fetchJson = opts.fetchJson ?? fetchJsonOverHttp;
  const minRefetchMs = opts.minRefetchMs ?? 30_000;
  const failureBackoffMs = opts.failureBackoffMs ?? 5_000;
  const maxAgeMs = opts.maxAgeMs ?? 10 * 60_000;
  let jwksUrl = opts.jwksUrl;
  let local: JWTVerifyGetKey | null = null;
  let loadedAt = 0;
  let nextFetchAt = 0;
  let pending: Promise<void> | null = null;

  async function discover(): Promise<string> {
    const url = `${opts.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const doc = (await fetchJson(url)) as { issuer?: unknown; jwks_uri?: unknown } | null;
    if (doc === null || typeof doc !== 'object' || typeof doc.jwks_uri !== 'string') throw new Error('the discovery document has no jwks_uri');
    // OpenID Connect Discovery 1.0, 4.3: the document's issuer must be the one we asked.
    if (doc.issuer !== opts.issuer) throw new Error('the discovery document names another issuer');
    if (!isAllowedIdpUrl(doc.jwks_uri)) throw new Error('the discovered jwks_uri is not https (or loopback)');
    return doc.jwks_uri;
  }

  async function load(): Promise<void> {
    try {
      jwksUrl ??= await discover();
      const doc = await fetchJson(jwksUrl);
      if (!isJwks(doc)) throw new Error('the response is not a JWK set');
      local = createLocalJWKSet(doc);
      loadedAt = clock.now();
      log.info(`OIDC: loaded ${doc.keys.length} signing key(s) from ${jwksUrl}`);
    } catch (err) {
      nextFetchAt = clock.now() + failureBackoffMs;
      log.warn(`OIDC: cannot fetch the signing keys from ${jwksUrl ?? `${opts.issuer} (discovery)`}: ${(err as Error).message}`);
      throw new JwksUnavailableError(Math.ceil(failureBackoffMs / 1000));
    }
  }

  /** Starts a fetch if none is running and the rate allows; returns the one in flight, or null. */
  function refresh(): Promise<void> | null {
    if (pending !== null) return pending;
    const now = clock.now();
    if (now < nextFetchAt) return null;
    nextFetchAt = now + minRefetchMs;
    pending = load().finally(() => {
      pending = null;
    });
    return pending;
  }

  function retryAfterSecs(): number {
    return Math.max(1, Math.ceil((nextFetchAt - clock.now()) / 1000));
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (local === null) {
      const inFlight = refresh();
      if (inFlight === null) throw new JwksUnavailableError(retryAfterSecs());
      await inFlight;
    } else if (clock.now() - loadedAt > maxAgeMs) {
      // Stale keys still verify if the provider is down; the failure was logged.
      await refresh()?.catch(() => undefined);
    }
    try {
      return await local!(header, token);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw err;
      // An unknown kid may be a key the provider rotated in: refetch, rate-limited.
      const inFlight = refresh();
      if (inFlight === null) throw err;
      await inFlight;
      return local!(header, token);
    }
  };

  return { getKey };
}
