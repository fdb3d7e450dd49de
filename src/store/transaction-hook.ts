// Lets a caller add writes to the first transaction made within an async
// context, so they commit atomically with it. Idempotency uses it to store a
// POST's response in the same transaction (and fsync) as what the POST
// created: a crash can then lose both or neither, never leave a created
// record without its key (which would let a retry create it twice).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Store, WriteTx } from './store.js';

export interface TransactionHook {
  /** Called inside the transaction, after its own function returned `result`. */
  attach(tx: WriteTx, result: unknown): void;
}

const current = new AsyncLocalStorage<{ hook: TransactionHook; used: boolean }>();

/** Runs `fn` so that the first transaction it makes also runs `hook`. */
export function runWithTransactionHook<T>(hook: TransactionHook, fn: () => Promise<T>): Promise<T> {
  return current.run({ hook, used: false }, fn);
}

/** The store as the town sees it: transactions honour a hook set by the caller's context. */
export function withTransactionHooks(store: Store): Store {
  const view: Store = {
    read: (fn) => store.read(fn),
    close: () => store.close(),
    version: () => store.version(),
    transact(fn) {
      const slot = current.getStore();
      if (slot === undefined || slot.used) return store.transact(fn);
      slot.used = true;
      return store.transact((tx) => {
        const result = fn(tx);
        slot.hook.attach(tx, result);
        return result;
      });
    },
  };
  if (store.onRemoteChange !== undefined) view.onRemoteChange = (listener) => store.onRemoteChange!(listener);
  return view;
}
