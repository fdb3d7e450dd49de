// In-process wake-ups for long-polling readers of a mailbox (`inbox/next?wait`).
//
// A reader registers *before* it looks at the mailbox, so a message queued
// between "the mailbox was empty" and "start waiting" still wakes it (the
// waiter is already marked notified). `notify` is called only after the
// transaction that queued the message is durable.
//
// Bounded: at most `maxWaiters` readers wait at once; past that `register`
// answers null and the caller answers at once instead of holding a socket.
// Every timer and abort listener is removed when a wait ends, however it ends.

export type WaitOutcome = 'notified' | 'timeout' | 'aborted';

export interface Waiter {
  /** Resolves when the mailbox gets a message, the time is up, or `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<WaitOutcome>;
  /** Stop waiting (idempotent; a wait in progress answers `aborted`); frees the slot. */
  cancel(): void;
}

export interface MessageWaiters {
  register(mailbox: string): Waiter | null;
  notify(mailbox: string): void;
  /** Wake every reader (they look again): after a shared store reloaded the whole town. */
  notifyAll(): void;
  /** Readers currently registered (for tests and metrics). */
  size(): number;
}

interface Entry {
  notified: boolean;
  /** Ends a wait in progress. */
  finish: ((outcome: WaitOutcome) => void) | null;
}

export const DEFAULT_MAX_WAITERS = 10_000;

export function createMessageWaiters(maxWaiters = DEFAULT_MAX_WAITERS): MessageWaiters {
  const byMailbox = new Map<string, Set<Entry>>();
  let count = 0;

  function remove(mailbox: string, entry: Entry): void {
    const set = byMailbox.get(mailbox);
    if (set === undefined || !set.delete(entry)) return;
    count--;
    if (set.size === 0) byMailbox.delete(mailbox);
  }

  return {
    register(mailbox) {
      if (count >= maxWaiters) return null;
      const entry: Entry = { notified: false, finish: null };
      let set = byMailbox.get(mailbox);
      if (set === undefined) {
        set = new Set();
        byMailbox.set(mailbox, set);
      }
      set.add(entry);
      count++;
      return {
        wait(ms, signal) {
          if (entry.notified) {
            remove(mailbox, entry);
            return Promise.resolve('notified');
          }
          if (signal?.aborted === true) {
            remove(mailbox, entry);
            return Promise.resolve('aborted');
          }
          return new Promise<WaitOutcome>((resolve) => {
            const finish = (outcome: WaitOutcome): void => {
              clearTimeout(timer);
              signal?.removeEventListener('abort', onAbort);
              entry.finish = null;
              remove(mailbox, entry);
              resolve(outcome);
            };
            const onAbort = (): void => finish('aborted');
            const timer = setTimeout(() => finish('timeout'), Math.max(0, ms));
            signal?.addEventListener('abort', onAbort, { once: true });
            entry.finish = finish;
          });
        },
        cancel() {
          entry.finish?.('aborted');
          remove(mailbox, entry);
        },
      };
    },
    notify(mailbox) {
      const set = byMailbox.get(mailbox);
      if (set === undefined) return;
      for (const entry of [...set]) {
        entry.notified = true;
        entry.finish?.('notified');
      }
    },
    notifyAll() {
      for (const set of [...byMailbox.values()]) {
        for (const entry of [...set]) {
          entry.notified = true;
          entry.finish?.('notified');
        }
      }
    },
    size() {
      return count;
    },
  };
}
