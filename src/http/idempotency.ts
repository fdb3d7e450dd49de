// Idempotency-Key support for POSTs that create something: a retry with the
// same key and body replays the first response; the same key with a different
// body is a 422. Keys are scoped to the principal and the route, kept 24 hours
// in the store (so they survive a restart), and any response below 500 is
// replayed.
//
// The stored response is written inside the handler's own transaction (see
// store/transaction-hook.ts), so what a POST created and its key are durable
// together: a crash cannot leave the one without the other. Only if the
// handler's answer differs from what its transaction returned is it rewritten
// in a second transaction.
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { HttpError, type ErrorCode, type ProblemExtras } from '../errors.js';
import type { Store } from '../store/store.js';
import { runWithTransactionHook, type TransactionHook } from '../store/transaction-hook.js';
import type { RouteResult } from './route.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const KEY = /^[\x21-\x7e]{1,255}$/;

interface StoredResponse {
  id: string;
  body_sha256: string;
  status: number;
  body: unknown;
  /** Set when the first answer was a problem (4xx): replayed as the same error. */
  error?: { code: ErrorCode; detail: string; extras: ProblemExtras };
  expires_at: number;
}

export interface IdempotencyScope {
  principal: string;
  route: string;
  key: string;
  body: unknown;
  /** The status a success answers with (the route's), recorded with the transaction's result. */
  successStatus: number;
}

export interface Idempotency {
  /** Runs `handler` at most once per (principal, route, key); replays stored responses. */
  run(scope: IdempotencyScope, handler: () => Promise<RouteResult>): Promise<RouteResult>;
}

function sameResponse(a: { status: number; body: unknown } | null, b: { status: number; body: unknown }): boolean {
  return a !== null && a.status === b.status && JSON.stringify(a.body) === JSON.stringify(b.body);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function createIdempotency(store: Store, clock: Clock): Idempotency {
  const inFlight = new Map<string, Promise<RouteResult>>();

  async function execute(id: string, bodyHash: string, successStatus: number, handler: () => Promise<RouteResult>): Promise<RouteResult> {
    const now = clock.now();
    const stored = await store.read((tx) => tx.get<StoredResponse>('idempotency', id));
    if (stored !== undefined && stored.expires_at > now) {
      if (stored.body_sha256 !== bodyHash) {
        throw new HttpError('idempotency.mismatch', 'This Idempotency-Key was already used with a different request body.');
      }
      if (stored.error !== undefined) throw new HttpError(stored.error.code, stored.error.detail, stored.error.extras);
      return { status: stored.status, body: stored.body, headers: { 'Idempotent-Replayed': 'true' } };
    }
    const save = (record: Omit<StoredResponse, 'id' | 'body_sha256' | 'expires_at'>): Promise<void> =>
      store.transact((tx) => {
        tx.delete('idempotency', id);
        tx.put('idempotency', id, { ...record, id, body_sha256: bodyHash, expires_at: now + IDEMPOTENCY_TTL_MS });
      });
    let provisional: { status: number; body: unknown } | null = null;
    const hook: TransactionHook = {
      attach(tx, result) {
        const record = { status: successStatus, body: result ?? null };
        tx.delete('idempotency', id);
        tx.put('idempotency', id, { ...record, id, body_sha256: bodyHash, expires_at: now + IDEMPOTENCY_TTL_MS });
        provisional = record;
      },
    };
    let result: RouteResult;
    try {
      result = await runWithTransactionHook(hook, handler);
    } catch (err) {
      // Handlers answer 4xx by throwing; those are answers too and replay as such.
      if (err instanceof HttpError && err.status < 500) {
        await save({ status: err.status, body: null, error: { code: err.code, detail: err.detail, extras: err.extras } });
      }
      throw err;
    }
    const answered = { status: result.status, body: result.body ?? null };
    if (answered.status < 500 && !sameResponse(provisional, answered)) await save(answered);
    return result;
  }

  return {
    async run(scope, handler) {
      if (!KEY.test(scope.key)) {
        throw new HttpError('body.invalid', 'The Idempotency-Key header must be 1-255 printable ASCII characters.', {
          errors: [{ pointer: '/headers/idempotency-key', message: 'must be 1-255 printable ASCII characters' }],
        });
      }
      const id = sha256(`${scope.principal}\0${scope.route}\0${scope.key}`);
      const bodyHash = sha256(JSON.stringify(scope.body ?? null));
      // Concurrent retries with one key wait for the first instead of racing it.
      for (let pending = inFlight.get(id); pending !== undefined; pending = inFlight.get(id)) {
        await pending.catch(() => undefined);
      }
      const run = execute(id, bodyHash, scope.successStatus, handler);
      inFlight.set(id, run);
      try {
        return await run;
      } finally {
        inFlight.delete(id);
      }
    },
  };
}

/** Deletes expired records; called on a timer, not on the request path. */
export async function purgeExpiredIdempotency(store: Store, clock: Clock): Promise<number> {
  const now = clock.now();
  const expired = await store.read((tx) => tx.list<StoredResponse>('idempotency').filter((r) => r.expires_at <= now).map((r) => r.id));
  if (expired.length === 0) return 0;
  return store.transact((tx) => {
    let removed = 0;
    for (const id of expired) {
      // Re-checked here: the key may have been used again since the read.
      const current = tx.get<StoredResponse>('idempotency', id);
      if (current !== undefined && current.expires_at <= now) {
        tx.delete('idempotency', id);
        removed++;
      }
    }
    return removed;
  });
}
