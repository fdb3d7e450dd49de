// Counts failed authentication attempts per client address over a sliding
// 60-second window. Once an address reaches the limit, every credentialed
// request from it is refused (429) without being verified, so a correct guess
// cannot be told apart from a wrong one while blocked.
//
// The map is bounded: past `maxAddresses` the oldest-touched address is
// forgotten, so a spray from many addresses cannot grow memory without end.
import type { Clock } from '../clock.js';

const WINDOW_MS = 60_000;

export interface FailureLimiter {
  /** Seconds until the address may try again, or 0 when it is not blocked. */
  blockedFor(address: string): number;
  recordFailure(address: string): void;
  /** Takes back the latest failure: an attempt counted when it started that did not fail. */
  withdraw(address: string): void;
}

export function createFailureLimiter(maxPerMinute: number, clock: Clock, maxAddresses = 50_000): FailureLimiter {
  const failures = new Map<string, number[]>();

  function recent(address: string, now: number): number[] {
    const list = failures.get(address);
    if (list === undefined) return [];
    while (list.length > 0 && list[0]! <= now - WINDOW_MS) list.shift();
    if (list.length === 0) failures.delete(address);
    return list;
  }

  return {
    blockedFor(address) {
      const now = clock.now();
      const list = recent(address, now);
      if (list.length < maxPerMinute) return 0;
      // Blocked until enough old failures leave the window to drop below the limit.
      const freeAt = list[list.length - maxPerMinute]! + WINDOW_MS;
      return Math.max(1, Math.ceil((freeAt - now) / 1000));
    },
    withdraw(address) {
      failures.get(address)?.pop();
    },
    recordFailure(address) {
      const now = clock.now();
      const list = recent(address, now);
      list.push(now);
      if (list.length > maxPerMinute) list.shift();
      failures.delete(address);
      failures.set(address, list);
      if (failures.size > maxAddresses) {
        const oldest = failures.keys().next().value;
        if (oldest !== undefined) failures.delete(oldest);
      }
    },
  };
}
