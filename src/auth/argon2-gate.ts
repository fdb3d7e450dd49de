// Caps how many Argon2 verifications run at once (each costs ~19-64 MiB and
// tens of milliseconds), with a bounded wait queue. Past the queue the caller
// gets `null` and should answer 503 with Retry-After: shedding load beats
// letting a flood of wrong keys exhaust memory.

export interface Argon2Gate {
  /** Runs `task` when a slot is free; resolves null at once if the queue is full. */
  run<T>(task: () => Promise<T>): Promise<T | null>;
  readonly active: number;
  readonly queued: number;
}

export function createArgon2Gate(maxConcurrency: number, maxQueue: number): Argon2Gate {
  let active = 0;
  const waiting: Array<() => void> = [];

  function release(): void {
    const next = waiting.shift();
    if (next) next();
    else active--;
  }

  return {
    get active() {
      return active;
    },
    get queued() {
      return waiting.length;
    },
    async run<T>(task: () => Promise<T>): Promise<T | null> {
      if (active < maxConcurrency) {
        active++;
      } else if (waiting.length < maxQueue) {
        // The slot is handed over directly by release(), so `active` stays put.
        await new Promise<void>((resolve) => waiting.push(resolve));
      } else {
        return null;
      }
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
