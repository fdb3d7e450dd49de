// Request timeouts without a timer per request: every request has the same
// timeout, so deadlines expire in the order they were set, and one coarse
// interval (a tenth of the timeout, 10 ms to 1 s) sweeps the oldest. This keeps
// a setTimeout/clearTimeout pair (and its allocations) off every request. The
// pipeline tracks only requests that wait: one answered synchronously cannot time out.
//
// The pending deadlines are a list linked through the deadlines themselves
// (as Node links its timers), not a Set. Every waiting request entered and
// left a Set: V8 rebuilt its table every few dozen requests, and a table it
// had left behind in the old generation still pointed at the requests in it
// until the next full GC. The young generation's collections kept those
// requests (and all they reference) alive, so each was copied twice into the
// old generation: 2.8 KB per durable POST /v1/backlog, twice the scavenge
// time. Unlinking clears a deadline's links, so nothing old points at it.
import { performance } from 'node:perf_hooks';

/** What is tracked: `at` is set by `track`; `onExpire` is called on it once it is due. */
export interface Deadline {
  at: number;
  onExpire(): void;
  /** Its neighbours in the pending list while tracked; RequestDeadlines alone sets them. */
  prevDeadline: Deadline | null;
  nextDeadline: Deadline | null;
}

export class RequestDeadlines {
  /** The oldest pending deadline, which expires first, and the newest. */
  private head: Deadline | null = null;
  private tail: Deadline | null = null;
  private readonly interval: NodeJS.Timeout;

  /** `now` in milliseconds, monotonic (tests pass their own). */
  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.interval = setInterval(() => this.sweep(), Math.min(1000, Math.max(10, Math.floor(timeoutMs / 10))));
    this.interval.unref();
  }

  track(deadline: Deadline): void {
    deadline.at = this.now() + this.timeoutMs;
    deadline.prevDeadline = this.tail;
    deadline.nextDeadline = null;
    if (this.tail === null) this.head = deadline;
    else this.tail.nextDeadline = deadline;
    this.tail = deadline;
  }

  /** Stops tracking `deadline`; nothing happens when it is not tracked (any more). */
  untrack(deadline: Deadline): void {
    const { prevDeadline: prev, nextDeadline: next } = deadline;
    if (prev === null && this.head !== deadline) return;
    if (prev === null) this.head = next;
    else prev.nextDeadline = next;
    if (next === null) this.tail = prev;
    else next.prevDeadline = prev;
    deadline.prevDeadline = deadline.nextDeadline = null;
  }

  /** How many deadlines are tracked (tests). */
  get size(): number {
    let n = 0;
    for (let d = this.head; d !== null; d = d.nextDeadline) n++;
    return n;
  }

  /** Expires every due deadline, oldest first (the interval calls this). */
  sweep(): void {
    const now = this.now();
    for (let deadline = this.head; deadline !== null && deadline.at <= now; deadline = this.head) {
      this.untrack(deadline);
      deadline.onExpire();
    }
  }

  close(): void {
    clearInterval(this.interval);
  }
}
