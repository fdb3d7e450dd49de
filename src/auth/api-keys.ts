// Verifies a presented API key against the configured Argon2id hashes, with a
// verified-credential cache so Argon2 runs once per key per TTL, not once per
// request.
//
// Security notes:
// - Cache entries are keyed by HMAC-SHA256(per-process random key, secret), so
//   the cache never holds a secret or a plain hash of one. The one exception is
//   a per-connection memo (1 s) of the credential that connection itself just
//   proved: it lives only as long as the socket, is compared only with what the
//   same socket sends, and spares a keep-alive client the HMAC per request.
// - Key ids are compared with timingSafeEqual over SHA-256 digests, against
//   every key without early exit; a Basic attempt runs one Argon2 verification
//   per distinct parameter set among the keys (real or dummy), so an unknown id
//   costs the same as a wrong token for any known one (no key-id oracle).
// - Recent failures are cached too, so replaying a wrong key does not buy
//   Argon2 time; they still count against the failure limiter upstream.
//   Concurrent attempts with one credential share one Argon2 run.
import { createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { ApiKeyConfig } from '../config/config.js';
import { hashToken, parseArgon2idPhc, verifyToken, DEFAULT_HASH_PARAMS } from './argon2-hash.js';
import type { Argon2Gate } from './argon2-gate.js';
import type { Credential } from './credentials.js';
import type { Principal } from './principal.js';
import { effectiveScopes } from './scopes.js';
import { selectorForKeyId, selectorOf } from './token-selector.js';

export type AuthFailureReason = 'malformed' | 'unknown_key' | 'wrong_secret' | 'expired' | 'disabled';

export type ApiKeyOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; reason: AuthFailureReason }
  /** The Argon2 gate was full: answer 503, do not count a failure. */
  | { ok: false; reason: 'busy' };

export interface ApiKeyVerifierOptions {
  keys: readonly ApiKeyConfig[];
  clock: Clock;
  cacheTtlMs: number;
  gate: Argon2Gate;
  onArgon2?: () => void;
  onCacheHit?: () => void;
  /** Called with the key id each time a key is accepted (for "last used" in GET /v1/admin/keys). */
  onUsed?: (keyId: string) => void;
  maxCacheEntries?: number;
}

export interface ApiKeyVerifier {
  /** Synchronous for answers from the caches; a Promise when Argon2 has to run. */
  /** `owner`: the client address, for the Argon2 gate's per-address share. */
  /** `connection`: the socket, to recognise a credential this connection proved moments ago without re-hashing it. */
  verifyApiKey(credential: Exclude<Credential, { kind: 'none' }>, owner?: string, connection?: object): ApiKeyOutcome | Promise<ApiKeyOutcome>;
  /** Whether this credential is in the verified cache now (proven before; no Argon2 needed). */
  isCached(credential: Credential): boolean;
}

const FAILURE_TTL_MS = 60_000;
/** How long a connection may reuse the credential it proved, without the keyed hash (see `remember`). */
const CONNECTION_MEMO_MS = 1000;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** A bounded TTL map: oldest entries go first once full. */
class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  constructor(private readonly max: number) {}
  get(key: string, now: number): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }
  set(key: string, value: V, expiresAt: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}

export async function createApiKeyVerifier(opts: ApiKeyVerifierOptions): Promise<ApiKeyVerifier> {
  const { keys, clock, cacheTtlMs, gate } = opts;
  const hmacKey = createSecretKey(randomBytes(32));
  const idDigests = keys.map((k) => digest(k.id));
  const principals: Principal[] = keys.map((k) => Object.freeze({ id: k.id, scopes: Object.freeze([...effectiveScopes(k.scopes)]) }));
  const successes = new TtlCache<number>(opts.maxCacheEntries ?? 10_000);
  const failures = new TtlCache<AuthFailureReason>(opts.maxCacheEntries ?? 10_000);
  // One dummy hash per distinct Argon2 parameter set among the keys. A Basic
  // attempt runs one verification per set (the key's own hash for its set,
  // dummies for the others), so its cost is the same whatever id it names.
  const paramSetOf = (hash: string): string => {
    const p = parseArgon2idPhc(hash);
    return typeof p === 'string' ? 'default' : `${p.memoryCost},${p.timeCost},${p.parallelism}`;
  };
  const keyParamSets = keys.map((k) => paramSetOf(k.hash));
  const dummies = new Map<string, string>();
  for (const k of keys.length > 0 ? keys : [null]) {
    const set = k === null ? 'default' : paramSetOf(k.hash);
    if (dummies.has(set)) continue;
    const parsed = k === null ? DEFAULT_HASH_PARAMS : parseArgon2idPhc(k.hash);
    dummies.set(set, await hashToken(randomBytes(24).toString('base64'), typeof parsed === 'string' ? DEFAULT_HASH_PARAMS : parsed));
  }

  // Which key a token's selector names; and the keys that take tokens without one.
  const bySelector = new Map<string, number>();
  keys.forEach((k, i) => {
    const selector = selectorForKeyId(k.id);
    const other = bySelector.get(selector);
    if (other !== undefined) throw new Error(`API keys "${keys[other]!.id}" and "${k.id}" have the same token selector; rename one of them`);
    bySelector.set(selector, i);
  });
  const withoutSelector = keys.flatMap((k, i) => (k.tokenSelector ? [] : [i]));
  const dummyList = [...dummies.values()];
  function dummyFor(value: string): string {
    const pick = createHmac('sha256', hmacKey).update(`dummy\0${value}`).digest().readUInt32BE(0);
    return dummyList[pick % dummyList.length]!;
  }

  function cacheKeyOf(c: Exclude<Credential, { kind: 'none' | 'malformed' }>): string {
    // One update: this runs on every authenticated request.
    const scoped = c.kind === 'basic' ? `basic\0${c.keyId}\0${c.token}` : `token\0${c.token}`;
    return createHmac('sha256', hmacKey).update(scoped).digest('base64');
  }

  /** Index of the key whose id matches, comparing against all keys. */
  function findKeyById(keyId: string): number {
    const presented = digest(keyId);
    let found = -1;
    idDigests.forEach((d, i) => {
      if (timingSafeEqual(d, presented) && keys[i]!.named) found = i;
    });
    return found;
  }

  // Per connection, the credential it proved last, for at most CONNECTION_MEMO_MS: a keep-alive
  // client repeating its header skips the keyed hash of the verified cache (its costliest step).
  // `judge` still checks disabled and expiry each time; a reload builds a new verifier, so an old
  // memo is never consulted; the secret is held only as long as its connection and compared only
  // with what the same connection sends (no oracle for anyone else).
  const memos = new WeakMap<object, { kind: string; keyId: string; token: string; index: number; until: number }>();
  const memoTtl = Math.min(CONNECTION_MEMO_MS, cacheTtlMs);
  function remember(connection: object | undefined, c: Exclude<Credential, { kind: 'none' | 'malformed' }>, index: number, now: number): void {
    if (connection === undefined || memoTtl <= 0) return;
    memos.set(connection, { kind: c.kind, keyId: c.kind === 'basic' ? c.keyId : '', token: c.token, index, until: now + memoTtl });
  }

  function judge(index: number): ApiKeyOutcome {
    const key = keys[index]!;
    if (key.disabled) return { ok: false, reason: 'disabled' };
    if (key.expiresAt !== null && key.expiresAt <= clock.now()) return { ok: false, reason: 'expired' };
    opts.onUsed?.(key.id);
    return { ok: true, principal: principals[index]! };
  }

  type BearerTarget = { kind: 'key'; index: number } | { kind: 'unselected' } | { kind: 'none' };
  /** Which hashes a Bearer / X-API-Key token is tried against (see the header). */
  function targetOf(token: string): BearerTarget {
    const selector = selectorOf(token);
    const index = selector === null ? undefined : bySelector.get(selector);
    if (index !== undefined) return { kind: 'key', index };
    return withoutSelector.length > 0 ? { kind: 'unselected' } : { kind: 'none' };
  }

  async function matchToken(target: BearerTarget, token: string): Promise<number> {
    opts.onArgon2?.();
    switch (target.kind) {
      case 'key':
        return (await verifyToken(keys[target.index]!.hash, token)) ? target.index : -1;
      case 'none':
        await verifyToken(dummyFor(selectorOf(token) ?? token), token);
        return -1;
      case 'unselected':
        // Tokens made without a selector: one run per key that may hold one (the documented cost).
        for (const [n, i] of withoutSelector.entries()) {
          if (n > 0) opts.onArgon2?.();
          if (await verifyToken(keys[i]!.hash, token)) return i;
        }
        return -1;
    }
  }

  /** Basic names a key (or none, -1): one verification per parameter set, real or dummy. */
  async function matchNamedKey(index: number, token: string): Promise<number> {
    let matched = -1;
    for (const [set, dummy] of dummies) {
      opts.onArgon2?.();
      const real = index !== -1 && keyParamSets[index] === set;
      const ok = await verifyToken(real ? keys[index]!.hash : dummy, token);
      if (real && ok) matched = index;
    }
    return matched;
  }

  /** Verifications running now, by cache key (never the secret itself). */
  const verifying = new Map<string, Promise<ApiKeyOutcome>>();

  async function verifyWithArgon2(credential: Exclude<Credential, { kind: 'none' | 'malformed' }>, cacheKey: string, owner: string | undefined): Promise<ApiKeyOutcome> {
    const named = credential.kind === 'basic' ? findKeyById(credential.keyId) : null;
    const target = credential.kind === 'basic' ? null : targetOf(credential.token);
    const matched = await gate.run(() => (target === null ? matchNamedKey(named ?? -1, credential.token) : matchToken(target, credential.token)), owner);
    if (matched === null) return { ok: false, reason: 'busy' };
    const after = clock.now();
    if (matched === -1) {
      const reason: AuthFailureReason = named === -1 || target?.kind === 'none' ? 'unknown_key' : 'wrong_secret';
      failures.set(cacheKey, reason, after + Math.min(FAILURE_TTL_MS, Math.max(cacheTtlMs, 1000)));
      return { ok: false, reason };
    }
    if (cacheTtlMs > 0) successes.set(cacheKey, matched, after + cacheTtlMs);
    return judge(matched);
  }

  return {
    isCached(credential) {
      if (credential.kind === 'none' || credential.kind === 'malformed') return false;
      return successes.get(cacheKeyOf(credential), clock.now()) !== undefined;
    },
    verifyApiKey(credential, owner, connection) {
      if (credential.kind === 'malformed') return { ok: false, reason: 'malformed' };
      const now = clock.now();
      const memo = connection === undefined ? undefined : memos.get(connection);
      if (
        memo !== undefined &&
        memo.until > now &&
        memo.token === credential.token &&
        memo.kind === credential.kind &&
        memo.keyId === (credential.kind === 'basic' ? credential.keyId : '')
      ) {
        opts.onCacheHit?.();
        return judge(memo.index);
      }
      const cacheKey = cacheKeyOf(credential);
      const hit = successes.get(cacheKey, now);
      if (hit !== undefined) {
        opts.onCacheHit?.();
        remember(connection, credential, hit, now);
        return judge(hit);
      }
      const failed = failures.get(cacheKey, now);
      if (failed !== undefined) {
        opts.onCacheHit?.();
        return { ok: false, reason: failed };
      }
      // Requests that arrive together with one credential (a cold or just-expired cache under
      // load) share its run: each running its own filled the Argon2 queue, and a busy client with
      // a valid key got 503s every time its cached verification expired.
      let shared = verifying.get(cacheKey);
      if (shared === undefined) {
        shared = verifyWithArgon2(credential, cacheKey, owner).finally(() => verifying.delete(cacheKey));
        verifying.set(cacheKey, shared);
      }
      return shared;
    },
  };
}
