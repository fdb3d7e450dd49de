// Request timeouts without a timer per request: every request has the same
// timeout, so deadlines expire in the order they were set, and one coarse
// interval (a tenth of the timeout, 10 ms to 1 s) sweeps the oldest. This keeps
// a setTimeout/clearTimeout pair (and its allocations) off every request. The
// pipeline tracks only requests that wait: one answered synchronously cannot time out.
import { performance } from 'node:perf_hooks';

/** What is tracked: `at` is set by `track`; `onExpire` is called on it once it is due. */
export interface Deadline {
  at: number;
  onExpire(): void;
}

export class RequestDeadlines {
  private readonly pending = new Set<Deadline>();
  private readonly interval: NodeJS.Timeout;

  constructor(private readonly timeoutMs: number) {
    this.interval = setInterval(() => this.sweep(), Math.min(1000, Math.max(10, Math.floor(timeoutMs / 10))));
    this.interval.unref();
  }

  track(deadline: Deadline): void {
    deadline.at = performance.now() + this.timeoutMs;
    this.pending.add(deadline);
  }

  untrack(deadline: Deadline | undefined): void {
    if (deadline !== undefined) this.pending.delete(deadline);
  }

  private sweep(): void {
    const now = performance.now();
    for (const deadline of this.pending) {
      if (deadline.at > now) break;
      this.pending.delete(deadline);
      deadline.onExpire();
    }
  }

  close(): void {
    clearInterval(this.interval);
  }
}
