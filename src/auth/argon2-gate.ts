// Caps how many Argon2 verifications run at once (each costs ~19-64 MiB and
// tens of milliseconds), with a bounded wait queue. Past the queue the caller
// gets `null` and should answer 503 with Retry-After: shedding load beats
// letting a flood of wrong keys exhaust memory.
//
// Fairness, by owner (the client address), as the fair queuing of Kubernetes'
// API Priority and Fairness shares seats between flows:
// - one owner may hold at most a quarter of the queue (at least one place),
//   and a freed slot goes to owners in turn (round robin), not in arrival
//   order: one address flooding wrong tokens gets 503s for its own surplus;
// - an owner that has not used the gate for a minute (a client's first
//   verification) goes ahead of the others, and when the queue is full it
//   takes the place of the newest task of the owner holding the most places
//   (that task is shed, 503), or, when only new owners wait, of the oldest of
//   them. New owners are served newest first, so the first requests of a
//   flood from many addresses (each new once) cannot stand in front of a
//   client that comes after them; a flooding address stays "new" only until
//   it uses the gate, and is new again only after a minute without.

export interface Argon2Gate {
  /**
   * Runs `task` when a slot is free; resolves null at once if the queue (or `owner`'s share of it) is full,
   * or later if a new owner's task took its place. Without an owner the task only meets the whole queue's bound.
   */
  run<T>(task: () => Promise<T>, owner?: string): Promise<T | null>;
  readonly active: number;
  readonly queued: number;
}

const NEW_AFTER_MS = 60_000;
const MAX_REMEMBERED_OWNERS = 10_000;

/** The places of the queue one owner may hold. */
export function ownerShare(maxQueue: number): number {
  return Math.max(1, Math.floor(maxQueue / 4));
}

/** A queued task: called with true when it may run, false when it was shed. */
type Waiter = (go: boolean) => void;

export function createArgon2Gate(maxConcurrency: number, maxQueue: number, now: () => number = Date.now): Argon2Gate {
  let active = 0;
  let queued = 0;
  const share = ownerShare(maxQueue);
  // New owners first, newest first; then owners in turn order (Map keeps insertion order).
  const first: Waiter[] = [];
  const waiting = new Map<string, Waiter[]>();
  const lastSeen = new Map<string, number>();

  function isNew(owner: string): boolean {
    const t = now();
    const seen = lastSeen.get(owner);
    lastSeen.delete(owner);
    lastSeen.set(owner, t);
    if (lastSeen.size > MAX_REMEMBERED_OWNERS) lastSeen.delete(lastSeen.keys().next().value!);
    return seen === undefined || seen <= t - NEW_AFTER_MS;
  }

  function next(): Waiter | undefined {
    const w = first.pop();
    if (w !== undefined) return w;
    const head = waiting.entries().next();
    if (head.done === true) return undefined;
    const [owner, list] = head.value;
    const out = list.shift();
    waiting.delete(owner);
    // Round robin: an owner with more waiting goes to the back of the turn order.
    if (list.length > 0) waiting.set(owner, list);
    return out;
  }

  /** Sheds the newest task of the owner holding the most places, else the oldest new owner's; false if none waits. */
  function shedOne(): boolean {
    let longest: Waiter[] | undefined;
    let longestOwner = '';
    for (const [owner, list] of waiting) {
      if (longest === undefined || list.length > longest.length) [longest, longestOwner] = [list, owner];
    }
    if (longest === undefined) {
      const oldest = first.shift();
      if (oldest === undefined) return false;
      queued--;
      oldest(false);
      return true;
    }
    const victim = longest.pop()!;
    if (longest.length === 0) waiting.delete(longestOwner);
    queued--;
    victim(false);
    return true;
  }

  function release(): void {
    const w = next();
    if (w === undefined) {
      active--;
      return;
    }
    queued--;
    // The slot is handed over directly, so `active` stays put.
    w(true);
  }

  function enqueue(owner: string | undefined): Promise<boolean> | null {
    if (owner !== undefined && isNew(owner)) {
      if (queued >= maxQueue && !shedOne()) return null;
      queued++;
      return new Promise<boolean>((resolve) => first.push(resolve));
    }
    const key = owner ?? '';
    const list = waiting.get(key) ?? [];
    if (queued >= maxQueue || (owner !== undefined && list.length >= share)) return null;
    queued++;
    return new Promise<boolean>((resolve) => {
      list.push(resolve);
      if (!waiting.has(key)) waiting.set(key, list);
    });
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
        if (owner !== undefined) isNew(owner);
      } else {
        const turn = enqueue(owner);
        if (turn === null || !(await turn)) return null;
      }
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
