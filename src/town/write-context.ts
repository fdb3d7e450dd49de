// What a town mutation sees while it runs inside one store transaction: the
// transaction, the time it happens at, and the mailboxes it queued messages
// for (so long-polling readers are woken only after the write is durable).
import type { WriteTx } from '../store/store.js';
import { isoTime } from '../clock.js';

export interface WriteContext {
  readonly tx: WriteTx;
  /** One timestamp for the whole transaction: every record it touches agrees. */
  readonly now: string;
  readonly nowMs: number;
  /** Mailboxes (agent ids or `supervisor`) that received a message. */
  readonly woken: Set<string>;
}

// Under load many transactions share a millisecond: format it once (Date's
// toISOString costs about as much as the rest of a small write's context).
let lastMs = NaN;
let lastIso = '';

export function createWriteContext(tx: WriteTx, nowMs: number): WriteContext {
  if (nowMs !== lastMs) {
    lastIso = isoTime(nowMs);
    lastMs = nowMs;
  }
  return { tx, now: lastIso, nowMs, woken: new Set() };
}

const SEQ_KEY = 'seq';

/**
 * The next value of the town-wide sequence. Kept in `meta` and bumped inside
 * the caller's transaction, so it is monotonic and survives restarts with the
 * records that use it.
 */
export function nextSeq(tx: WriteTx): number {
  const current = tx.get<number>('meta', SEQ_KEY);
  const next = (typeof current === 'number' ? current : 0) + 1;
  tx.put('meta', SEQ_KEY, next);
  return next;
}
