// A Store that lives only in memory: for unit tests of the town layer, and the
// reference the journal store is checked against (same contract suite).
//
// Nothing is durable, so `transact` and `read` resolve as soon as the
// in-memory work is done. Stored values are frozen copies (see memory-state.ts).
import { createMemoryState } from './memory-state.js';
import { StoreUnavailableError } from './store-errors.js';
import type { ReadTx, Store, WriteTx } from './store.js';

export function createMemoryStore(): Store {
  const state = createMemoryState();
  let closed = false;

  return {
    transact<T>(fn: (tx: WriteTx) => T): Promise<T> {
      if (closed) return Promise.reject(closedError());
      try {
        const { result, ops } = state.run(fn);
        state.apply(ops);
        return Promise.resolve(result);
      } catch (err) {
        return Promise.reject(err);
      }
    },
    read<T>(fn: (tx: ReadTx) => T): Promise<T> {
      if (closed) return Promise.reject(closedError());
      try {
        return Promise.resolve(fn(state.view));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
    version: () => state.version,
  };
}

function closedError(): StoreUnavailableError {
  return new StoreUnavailableError('closed', 'the store is closed');
}
