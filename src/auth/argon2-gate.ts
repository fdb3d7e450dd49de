// Caps how many Argon2 verifications run at once (each costs ~19-64 MiB and
// tens of milliseconds), with a bounded wait queue. Past the queue the caller
// gets `null` and should answer 503 with Retry-After: shedding load beats
// letting a flood of wrong keys exhaust memory.
//
// Fairness: the queue is shared out by owner (the client address), as the
// fair queuing of Kubernetes' API Priority and Fairness shares seats between
// flows: one owner may hold at most a quarter of the queue (at least one
// place), and a freed slot goes to owners in turn (round robin), not in
// arrival order. So one address flooding wrong tokens gets 503s for its own
// surplus while another client's first verification still finds a place and
// runs next. A flood from many addresses can still fill the queue: the
// failure limiter's per-address ceiling is what bounds each of them.

export interface Argon2Gate {
  /**
   * Runs `task` when a slot is free; resolves null at once if the queue (or `owner`'s share of it) is full.
   * Without an owner the task only meets the whole queue's bound.
   */
  run<T>(task: () => Promise<T>, owner?: string): Promise<T | null>;
  readonly active: number;
  readonly queued: number;
}

/** The places of the queue one owner may hold. */
export function ownerShare(maxQueue: number): number {
  return Math.max(1, Math.floor(maxQueue / 4));
}

export function createArgon2Gate(maxConcurrency: number, maxQueue: number): Argon2Gate {
  let active = 0;
  let queued = 0;
  const share = ownerShare(maxQueue);
  // Owners in turn order (Map keeps insertion order), each with its waiters in arrival order.
  const waiting = new Map<string, Array<() => void>>();

  function release(): void {
    const first = waiting.entries().next();
    if (first.done === true) {
      active--;
      return;
    }
    const [owner, list] = first.value;
    const next = list.shift()!;
    waiting.delete(owner);
    // Round robin: an owner with more waiting goes to the back of the turn order.
    if (list.length > 0) waiting.set(owner, list);
    queued--;
    next();
  }

  return {
    get active() {
      return active;
    },
    get queued() {
      return queued;
    },
    async run<T>(task: () => Promise<T>, owner?: string): Promise<T | null> {
      if (active < maxConcurrency) {
        active++;
      } else {
        const key = owner ?? '';
        const list = waiting.get(key) ?? [];
        if (queued >= maxQueue || (owner !== undefined && list.length >= share)) return null;
        // The slot is handed over directly by release(), so `active` stays put.
        await new Promise<void>((resolve) => {
          list.push(resolve);
          if (!waiting.has(key)) waiting.set(key, list);
          queued++;
        });
      }
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
