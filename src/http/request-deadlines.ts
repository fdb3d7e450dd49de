// Request timeouts without a timer per request: every request has the same
// timeout, so deadlines expire in the order they were set, and one coarse
// interval (a tenth of the timeout, 10 ms to 1 s) sweeps the oldest. This keeps
// a setTimeout/clearTimeout pair (and its allocations) off every request.
import { performance } from 'node:perf_hooks';

export interface Deadline {
  readonly at: number;
  readonly onExpire: () => void;
}

export class RequestDeadlines {
  private readonly pending = new Set<Deadline>();
  private readonly interval: NodeJS.Timeout;

  constructor(private readonly timeoutMs: number) {
    this.interval = setInterval(() => this.sweep(), Math.min(1000, Math.max(10, Math.floor(timeoutMs / 10))));
    this.interval.unref();
  }

  track(onExpire: () => void): Deadline {
    const deadline = { at: performance.now() + this.timeoutMs, onExpire };
    this.pending.add(deadline);
    return deadline;
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
