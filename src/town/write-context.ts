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
  /** Marks a mailbox (an agent id or `supervisor`) that received a message, to wake once durable. */
  wake(mailbox: string): void;
  /** The mailboxes marked, or null when none was (most writes send no message, and make no Set). */
  readonly woken: ReadonlySet<string> | null;
}

class TownWrite implements WriteContext {
  woken: Set<string> | null = null;

  constructor(
    readonly tx: WriteTx,
    readonly now: string,
    readonly nowMs: number,
  ) {}

  wake(mailbox: string): void {
    (this.woken ??= new Set()).add(mailbox);
  }
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
  return new TownWrite(tx, lastIso, nowMs);
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
