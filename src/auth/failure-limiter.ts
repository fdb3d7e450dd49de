// Counts failed authentication attempts over a sliding 60-second window, in
// two zones at once, as nginx does with several `limit_req` directives on one
// location (a request is refused when any zone is over its limit):
//
//   per address + credential fingerprint   maxPerMinute           (credential-fingerprint.ts)
//   per address                            maxPerMinute x 5       (ADDRESS_CEILING_FACTOR)
//
// The first zone means a neighbour's wrong key (or malformed header) blocks
// that credential only, not a different key presented from the same address;
// the second means one client rotating guesses (a new fingerprint each time)
// is still blocked, at five times the per-credential limit.
//
// A blocked attempt is refused (429) without being verified, so a correct
// guess cannot be told apart from a wrong one while blocked.
//
// Both maps are bounded: past `maxAddresses` entries the oldest-touched one
// is forgotten, so a spray from many addresses or credentials cannot grow memory
// without end.
import type { Clock } from '../clock.js';

const WINDOW_MS = 60_000;
export const ADDRESS_CEILING_FACTOR = 5;

export interface FailureLimiter {
  /**
   * Seconds until this credential may be tried from the address again, or 0 when it is not blocked.
   * The fingerprint may be given as a function: it is then computed only when the address has failures.
   */
  blockedFor(address: string, fingerprint?: string | (() => string)): number;
  recordFailure(address: string, fingerprint?: string): void;
  /** Takes back the latest failure: an attempt counted when it started that did not fail. */
  withdraw(address: string, fingerprint?: string): void;
}

/** One zone: a sliding window of failure times per key, bounded in keys and in times per key. */
function createZone(limit: number, clock: Clock, maxEntries: number) {
  const failures = new Map<string, number[]>();
  function recent(key: string, now: number): number[] {
    const list = failures.get(key);
    if (list === undefined) return [];
    while (list.length > 0 && list[0]! <= now - WINDOW_MS) list.shift();
    if (list.length === 0) failures.delete(key);
    return list;
  }
  return {
    /** Whether the key has failures in the window (without pruning). */
    has(key: string): boolean {
      return failures.has(key);
    },
    blockedFor(key: string): number {
      const now = clock.now();
      const list = recent(key, now);
      if (list.length < limit) return 0;
      // Blocked until enough old failures leave the window to drop below the limit.
      const freeAt = list[list.length - limit]! + WINDOW_MS;
      return Math.max(1, Math.ceil((freeAt - now) / 1000));
    },
    withdraw(key: string): void {
      failures.get(key)?.pop();
    },
    record(key: string): void {
      const now = clock.now();
      const list = recent(key, now);
      list.push(now);
      if (list.length > limit) list.shift();
      failures.delete(key);
      failures.set(key, list);
      if (failures.size > maxEntries) {
        const oldest = failures.keys().next().value;
        if (oldest !== undefined) failures.delete(oldest);
      }
    },
  };
}

export function createFailureLimiter(maxPerMinute: number, clock: Clock, maxAddresses = 50_000): FailureLimiter {
  const perCredential = createZone(maxPerMinute, clock, maxAddresses);
  const perAddress = createZone(maxPerMinute * ADDRESS_CEILING_FACTOR, clock, maxAddresses);
  // Addresses contain no NUL, so address + NUL + fingerprint is unambiguous.
  const pair = (address: string, fingerprint: string): string => `${address}\0${fingerprint}`;

  return {
    blockedFor(address, fingerprint = '') {
      // Every failure is counted in both zones, so an address with none has no blocked credential either:
      // the common case (a good client) then costs no fingerprint (an HMAC) at all.
      if (!perAddress.has(address)) return 0;
      const fp = typeof fingerprint === 'function' ? fingerprint() : fingerprint;
      return Math.max(perCredential.blockedFor(pair(address, fp)), perAddress.blockedFor(address));
    },
    withdraw(address, fingerprint = '') {
      perCredential.withdraw(pair(address, fingerprint));
      perAddress.withdraw(address);
    },
    recordFailure(address, fingerprint = '') {
      perCredential.record(pair(address, fingerprint));
      perAddress.record(address);
    },
  };
}
