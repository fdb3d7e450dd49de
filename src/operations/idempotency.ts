// Idempotency keys for operations that create something: a retry with the
// same key and input replays the first answer (errors below "server" included);
// the same key with other input is `idempotency.mismatch`. Keys are scoped to
// the principal and the operation and kept 24 hours in the store, so they
// survive a restart and work whichever transport the retry comes through.
//
// The earlier answer is looked up, and this answer stored, inside the one
// transaction the operation makes (see store/commit-hook.ts): a crash keeps
// both the work and its key or neither, and a concurrent retry, whose
// transaction necessarily runs before or after, sees the first one's record.
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { OpError, classOf, invalidInput, type ErrorCode, type ErrorExtras } from '../errors.js';
import type { CommitHook } from '../store/commit-hook.js';
import { defineIndex } from '../store/derived-index.js';
import type { Store, WriteTx } from '../store/store.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Live keys one principal may hold; past it a new key is refused (429) until old ones expire. */
export const MAX_KEYS_PER_PRINCIPAL = 10_000;
const KEY = /^[\x21-\x7e]{1,255}$/;

interface StoredAnswer {
  id: string;
  /** Whose key this is, so the per-principal count can be kept (absent on records from before it). */
  principal?: string;
  input_sha256: string;
  /** The operation's output, when it succeeded. */
  output?: unknown;
  /** Set when the first answer was a refusal: replayed as the same error. */
  error?: { code: ErrorCode; detail: string; extras: ErrorExtras };
  expires_at: number;
}

/** Thrown inside the transaction to end it with no writes and answer what was stored. */
export class Replay {
  constructor(readonly stored: StoredAnswer) {}
}

export interface IdempotentCall {
  readonly hook: CommitHook;
  /** After the run: store the output if it differs from what the transaction recorded. */
  settle(output: unknown): Promise<void>;
  /** After a failed run: store a replayable refusal. */
  fail(err: unknown): Promise<void>;
}

export interface Idempotency {
  begin(principal: string, operation: string, key: string, input: unknown): IdempotentCall;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The `meta` record counting a principal's live keys (kept in the same transactions as the keys). */
const countKey = (principal: string): string => `idempotency_keys:${principal}`;

function bump(tx: WriteTx, principal: string, by: number): number {
  const next = Math.max(0, (tx.get<number>('meta', countKey(principal)) ?? 0) + by);
  if (next === 0) tx.delete('meta', countKey(principal));
  else tx.put('meta', countKey(principal), next);
  return next;
}

export function createIdempotency(store: Store, clock: Clock, maxKeysPerPrincipal = MAX_KEYS_PER_PRINCIPAL): Idempotency {
  return {
    begin(principal, operation, key, input) {
      if (!KEY.test(key)) {
        throw invalidInput([{ pointer: '/headers/idempotency-key', message: 'must be 1-255 printable ASCII characters' }]);
      }
      const id = sha256(`${principal}\0${operation}\0${key}`);
      const inputHash = sha256(JSON.stringify(input ?? null));
      const now = clock.now();
      let recorded: string | null = null;
      /** Writes this key's record; a new key counts against the principal's allowance. */
      const put = (tx: WriteTx, answer: Pick<StoredAnswer, 'output' | 'error'>): void => {
        if (tx.get('idempotency', id) === undefined) bump(tx, principal, 1);
        tx.delete('idempotency', id);
        tx.put('idempotency', id, { id, principal, input_sha256: inputHash, ...answer, expires_at: now + IDEMPOTENCY_TTL_MS });
      };
      const save = (answer: Pick<StoredAnswer, 'output' | 'error'>): Promise<void> =>
        store.transact((tx) => {
          // A refusal past the allowance is not kept: the allowance must not grow by failing.
          if (tx.get('idempotency', id) === undefined && (tx.get<number>('meta', countKey(principal)) ?? 0) >= maxKeysPerPrincipal) return;
          put(tx, answer);
        });
      const hook: CommitHook = {
        before(tx) {
          const stored = tx.get<StoredAnswer>('idempotency', id);
          if (stored === undefined && (tx.get<number>('meta', countKey(principal)) ?? 0) >= maxKeysPerPrincipal) {
            throw new OpError('rate.limited', `This caller already holds ${maxKeysPerPrincipal} idempotency keys from the last 24 hours; retry later or without a key.`, {
              retry_after_secs: 3600,
            });
          }
          if (stored === undefined || stored.expires_at <= now) return;
          if (stored.input_sha256 !== inputHash) {
            throw new OpError('idempotency.mismatch', 'This Idempotency-Key was already used with a different request body.');
          }
          throw new Replay(stored);
        },
        after(tx, result) {
          put(tx, { output: result ?? null });
          recorded = JSON.stringify(result ?? null);
        },
      };
      return {
        hook,
        async settle(output) {
          if (recorded !== JSON.stringify(output ?? null)) await save({ output: output ?? null });
        },
        async fail(err) {
          // A refusal is the answer to this request as sent; a passing failure (busy, timeout) is not replayed.
          if (err instanceof OpError && classOf(err.code) === 'refused' && err.code !== 'idempotency.mismatch') {
            await save({ error: { code: err.code, detail: err.detail, extras: err.extras } });
          }
        },
      };
    },
  };
}

/** The answer a replay gives: the stored output, or the stored refusal thrown again. */
export function replayed(stored: StoredAnswer): unknown {
  if (stored.error !== undefined) throw new OpError(stored.error.code, stored.error.detail, stored.error.extras);
  return stored.output ?? null;
}

/** Stored answers, soonest expiry first: one bucket, `answers`. */
const BY_EXPIRY = defineIndex<StoredAnswer>({
  name: 'idempotency-expiry',
  collection: 'idempotency',
  buckets: (r) => (typeof r.expires_at === 'number' ? ['answers'] : []),
  key: (r) => r.expires_at,
});

/** Deletes expired records; called on a timer, not on the request path. */
export async function purgeExpiredIdempotency(store: Store, clock: Clock): Promise<number> {
  const now = clock.now();
  const expired = await store.read((tx) => {
    const ids: string[] = [];
    for (const { id, value } of tx.index(BY_EXPIRY).entries('answers')) {
      if (value.expires_at > now) break; // soonest first: the rest are still valid
      ids.push(id);
    }
    return ids;
  });
  if (expired.length === 0) return 0;
  return store.transact((tx) => {
    let removed = 0;
    for (const id of expired) {
      // Re-checked here: the key may have been used again since the read.
      const current = tx.get<StoredAnswer>('idempotency', id);
      if (current !== undefined && current.expires_at <= now) {
        tx.delete('idempotency', id);
        if (current.principal !== undefined) bump(tx, current.principal, -1);
        removed++;
      }
    }
    return removed;
  });
}
