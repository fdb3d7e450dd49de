// Idempotency-Key support for POSTs that create something: a retry with the
// same key and body replays the first response; the same key with a different
// body is a 422. Keys are scoped to the principal and the route, kept 24 hours
// in the store (so they survive a restart), and any response below 500 is
// replayed.
//
// Known limit: the record is written in its own transaction after the
// handler's is durable, so a crash between those two fsyncs lets a retry run
// the handler again.
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { HttpError, type ErrorCode, type ProblemExtras } from '../errors.js';
import type { Store } from '../store/store.js';
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
}

export interface Idempotency {
  /** Runs `handler` at most once per (principal, route, key); replays stored responses. */
  run(scope: IdempotencyScope, handler: () => Promise<RouteResult>): Promise<RouteResult>;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function createIdempotency(store: Store, clock: Clock): Idempotency {
  const inFlight = new Map<string, Promise<RouteResult>>();

  async function execute(id: string, bodyHash: string, handler: () => Promise<RouteResult>): Promise<RouteResult> {
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
    let result: RouteResult;
    try {
      result = await handler();
    } catch (err) {
      // Handlers answer 4xx by throwing; those are answers too and replay as such.
      if (err instanceof HttpError && err.status < 500) {
        await save({ status: err.status, body: null, error: { code: err.code, detail: err.detail, extras: err.extras } });
      }
      throw err;
    }
    if (result.status < 500) await save({ status: result.status, body: result.body ?? null });
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
      const run = execute(id, bodyHash, handler);
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
