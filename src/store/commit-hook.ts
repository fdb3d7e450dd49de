// Lets a caller join the one transaction an operation makes, explicitly: the
// caller passes a hook down with the call, and the town runs it inside its
// transaction. Idempotency uses it to check for an earlier answer and to store
// this one atomically with what the operation wrote: a crash loses both or
// neither, and two concurrent retries cannot both run (transactions are
// serialized), with no lock and no AsyncLocalStorage on the hot path.
import type { WriteTx } from './store.js';

export interface CommitHook {
  /** Runs first inside the transaction; may throw to end it with no writes (e.g. to replay). */
  before(tx: WriteTx): void;
  /** Runs inside the same transaction after the operation's function returned `result`. */
  after(tx: WriteTx, result: unknown): void;
}

/** Runs `fn` inside `tx` wrapped by `hook` (when given). */
export function runHooked<T>(tx: WriteTx, hook: CommitHook | undefined, fn: (tx: WriteTx) => T): T {
  if (hook === undefined) return fn(tx);
  hook.before(tx);
  const result = fn(tx);
  hook.after(tx, result);
  return result;
}
