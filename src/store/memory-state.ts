// The in-memory core shared by every Store: one ordered table per collection
// (record-table.ts), the derived indexes kept over them, and transactions run
// against an overlay of their own writes (overlay-tx.ts), turned into a list
// of operations only when the function returns.
//
// `run` never touches the committed state; the caller applies the returned
// operations with `apply` once it has recorded them (the journal store encodes
// the record first, so a failure there cannot leave memory ahead of the log).
//
// Safety:
// - `put` takes its value over and deep-freezes it (plain data in place, anything
//   else as a JSON copy: stored-json.ts), so neither the caller's object nor
//   anything `get`/`list` hands out can change stored state (changing one
//   throws in strict mode). The JSON text is kept on the operation so the
//   journal does not stringify twice.
// - A transaction function that returns a promise is rejected: writes made
//   after an `await` would otherwise silently escape the transaction.
// - A transaction handle is dead once its function returns, and a transaction
//   cannot start inside another one.
import { CommittedIndex, type IndexDefinition } from './derived-index.js';
import { OverlayTx, rollBack, type Overlay, type StateCore, type Undo } from './overlay-tx.js';
import { RecordTable, type TableCapture } from './record-table.js';
import { COLLECTIONS, type Collection, type ReadTx, type WriteTx } from './store.js';

/** One committed change. `json` is the put value's JSON text when it came from a transaction. */
export type StoreOp =
  // `absent`: the committed state does not hold the id (its transaction saw so, or WriteTx.create vouched), and apply need not look.
  | { kind: 'put'; collection: Collection; id: string; value: unknown; json?: string; absent?: boolean }
  | { kind: 'delete'; collection: Collection; id: string };

/** What one function of a batch did: its result, or what it threw. */
export type BatchOutcome<T> = { ok: true; result: T } | { ok: false; error: unknown };

export interface MemoryState {
  /** A read view of the committed state; stateless, so one object serves every read. */
  readonly view: ReadTx;
  /** Run `fn` against an overlay; returns its result and the operations to apply. Throws what `fn` throws. */
  run<T>(fn: (tx: WriteTx) => T): { result: T; ops: StoreOp[] };
  /**
   * Run several functions in order as one combined transaction: each sees the
   * writes of those before it; one that throws (or returns a promise) leaves
   * no writes and its error in its outcome. Returns the combined operations.
   */
  runBatch<T>(fns: readonly ((tx: WriteTx) => T)[]): { outcomes: BatchOutcome<T>[]; ops: StoreOp[] };
  apply(ops: readonly StoreOp[]): void;
  /** Bumped by every apply: lets callers cache views derived from the state. */
  readonly version: number;
  /** Committed records of one collection in order, for snapshots. */
  entries(collection: Collection): IterableIterator<[string, unknown]>;
  /**
   * The committed records of one collection in order, as of now, read a
   * generation at a time while writes go on (record-table.ts): values are
   * frozen, so the chunks stay exactly this moment's state while a snapshot
   * is encoded bit by bit. Release it when done.
   */
  capture(collection: Collection): TableCapture<unknown>;
}

export function createMemoryState(): MemoryState {
  const data = new Map<Collection, RecordTable>(COLLECTIONS.map((c) => [c, new RecordTable()]));
  let running = false;

  function table(collection: Collection): RecordTable {
    const map = data.get(collection);
    if (map === undefined) throw new TypeError(`unknown collection ${JSON.stringify(String(collection))}`);
    return map;
  }

  // Derived indexes (derived-index.ts), built on first use and kept up to date by `apply`.
  const indexes = new Map<IndexDefinition<unknown>, CommittedIndex<unknown>>();
  const indexesOf = new Map<Collection, CommittedIndex<unknown>[]>();

  function committedIndex<T>(definition: IndexDefinition<T>): CommittedIndex<T> {
    let index = indexes.get(definition as IndexDefinition<unknown>) as CommittedIndex<T> | undefined;
    if (index === undefined) {
      index = new CommittedIndex(definition, table(definition.collection).entries());
      indexes.set(definition as IndexDefinition<unknown>, index as CommittedIndex<unknown>);
      const list = indexesOf.get(definition.collection);
      if (list === undefined) indexesOf.set(definition.collection, [index as CommittedIndex<unknown>]);
      else list.push(index as CommittedIndex<unknown>);
    }
    return index;
  }

  const view: ReadTx = {
    get: <T>(collection: Collection, id: string) => table(collection).get(id) as T | undefined,
    list: <T>(collection: Collection) => Array.from(table(collection).values()) as T[],
    count: (collection: Collection) => table(collection).size,
    ids: (collection: Collection) => Array.from(table(collection).keys()),
    index: committedIndex,
  };

  const core: StateCore = { table, committedIndex };

  function runBatch<T>(fns: readonly ((tx: WriteTx) => T)[]): { outcomes: BatchOutcome<T>[]; ops: StoreOp[] } {
    assertNotRunning();
    let overlay: Overlay = new Map();
    const outcomes: BatchOutcome<T>[] = [];
    for (const fn of fns) {
      // Only a batch of several needs to take a member's writes back: a single function's failure discards everything anyway.
      const undo: Undo[] | null = fns.length > 1 ? [] : null;
      try {
        outcomes.push({ ok: true, result: runOne(fn, overlay, undo) });
      } catch (error) {
        if (undo === null) overlay = new Map();
        else rollBack(overlay, undo);
        outcomes.push({ ok: false, error });
      }
    }
    return { outcomes, ops: opsOf(overlay) };
  }

  function assertNotRunning(): void {
    if (running) throw new Error('a transaction cannot start inside another transaction');
  }

  // The common case, one function: no outcome objects to make and unwrap (every write comes this way).
  function run<T>(fn: (tx: WriteTx) => T): { result: T; ops: StoreOp[] } {
    const overlay: Overlay = new Map();
    const result = runOne(fn, overlay, null);
    return { result, ops: opsOf(overlay) };
  }

  /** Runs `fn` against `overlay`; throws what it throws (its writes are then the caller's to discard). */
  function runOne<T>(fn: (tx: WriteTx) => T, overlay: Overlay, undo: Undo[] | null): T {
    assertNotRunning();
    const tx = new OverlayTx(core, overlay, undo);
    running = true;
    try {
      const result = fn(tx);
      if (isThenable(result)) {
        // Its writes after an await hit a dead handle and reject that promise; nobody else will
        // observe it, and an unhandled rejection would take the process down.
        (result as PromiseLike<unknown>).then(undefined, () => {});
        throw new TypeError('a transaction function must be synchronous (it returned a promise)');
      }
      return result;
    } finally {
      running = false;
      tx.open = false;
    }
  }

  /** The overlay as operations, in the order apply needs. forEach, not for-of: no [key, value] array per entry. */
  function opsOf(overlay: Overlay): StoreOp[] {
    const ops: StoreOp[] = [];
    overlay.forEach((own, collection) => {
      own.forEach((p, id) => {
        if (p.value === undefined) ops.push({ kind: 'delete', collection, id });
        else {
          // A fresh id that still exists in the base was deleted and re-put: move it to the end.
          if (p.moved) ops.push({ kind: 'delete', collection, id });
          ops.push({ kind: 'put', collection, id, value: p.value, json: p.json, absent: p.fresh });
        }
      });
    });
    return ops;
  }

  let version = 0;

  function apply(ops: readonly StoreOp[]): void {
    version++;
    for (const op of ops) {
      const map = table(op.collection);
      const old = op.kind === 'delete' ? map.take(op.id) : op.absent === true ? map.insert(op.id, op.value) : map.put(op.id, op.value);
      const derived = indexesOf.get(op.collection);
      if (derived !== undefined) {
        for (const index of derived) {
          if (old !== undefined) index.remove(op.id, old);
          if (op.kind === 'put') index.add(op.id, op.value);
        }
      }
    }
  }

  return {
    view,
    run,
    runBatch,
    apply,
    get version() {
      return version;
    },
    entries: (collection) => table(collection).entries(),
    capture: (collection) => table(collection).capture(),
  };
}

/** Freeze a freshly parsed JSON value in place, all the way down. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
