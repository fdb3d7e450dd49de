// When each API key was last accepted, for GET /v1/admin/keys. Kept outside
// the verifier so it survives reloads (a reload builds a new verifier); keyed
// by configured key ids only, so it is bounded by the configuration.
import type { Clock } from '../clock.js';
import { effectiveScopes, type Scope } from './scopes.js';

export interface KeyUsage {
  touch(keyId: string): void;
  /** Epoch ms of the last accepted request, or null. */
  lastUsed(keyId: string): number | null;
}

export function createKeyUsage(clock: Clock, maxIds = 10_000): KeyUsage {
  const last = new Map<string, number>();
  return {
    touch(keyId) {
      if (!last.has(keyId) && last.size >= maxIds) return;
      last.set(keyId, clock.now());
    },
    lastUsed(keyId) {
      return last.get(keyId) ?? null;
    },
  };
}

/** What GET /v1/admin/keys shows of a key: never its hash. */
export interface KeyInfo {
  id: string;
  scopes: readonly string[];
  expires_at: string | null;
  disabled: boolean;
  last_used_at: string | null;
}

export function describeKeys(keys: ReadonlyArray<{ id: string; scopes: readonly Scope[]; expiresAt: number | null; disabled: boolean }>, usage: KeyUsage): KeyInfo[] {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  // Effective scopes: an empty configured list is shown as the admin it means.
  return keys.map((k) => ({ id: k.id, scopes: [...effectiveScopes(k.scopes)], expires_at: iso(k.expiresAt), disabled: k.disabled, last_used_at: iso(usage.lastUsed(k.id)) }));
}
