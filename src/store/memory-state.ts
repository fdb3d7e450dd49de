// The in-memory core shared by every Store: one ordered table per collection (record-table.ts),
// plus the transaction machinery (an overlay of a transaction's own writes,
// turned into a list of operations only when the function returns).
//
// `run` never touches the committed state; the caller applies the returned
// operations with `apply` once it has recorded them (the journal store encodes
// the record first, so a failure there cannot leave memory ahead of the log).
//
// Safety:
// - Values are copied as JSON on `put` and deep-frozen (copy-json.ts), so
//   later changes to the caller's object, or to anything `get`/`list` hands
//   out, can never reach stored state (mutating a returned value throws in
//   strict mode). The JSON text is kept on the operation so the journal does
//   not stringify twice.
// - A transaction function that returns a promise is rejected: writes made
//   after an `await` would otherwise silently escape the transaction.
// - A transaction handle is dead once its function returns, and a transaction
//   cannot start inside another one.
import { copyJson } from './copy-json.js';
import { CommittedIndex, transactionView, type IndexDefinition, type IndexView } from './derived-index.js';
import { RecordTable } from './record-table.js';
import { COLLECTIONS, type Collection, type ReadTx, type WriteTx } from './store.js';

/** One committed change. `json` is the put value's JSON text when it came from a transaction. */
export type StoreOp =
  | { kind: 'put'; collection: Collection; id: string; value: unknown; json?: string }
  | { kind: 'delete'; collection: Collection; id: string };

/**
 * How to take back one write of a batch member that fails (runBatch), so that
 * the members before it keep theirs without a copy of the overlay per member
 * (a copy per member made a batch of n cost n^2). `fields`: an entry updated in
 * place gets its old value back; `drop`: an entry added at the end is removed;
 * `layer`: a collection's layer as it was before a write that moved an entry
 * (delete then put), or undefined when the write created the layer. Entries
 * are shared with a saved layer, so older `fields` steps still apply to it.
 */
type Undo =
  | { kind: 'fields'; pending: Pending; value: unknown; json: string }
  | { kind: 'drop'; collection: Collection; id: string }
  | { kind: 'layer'; collection: Collection; layer: Map<string, Pending> | undefined };

/** What one function of a batch did: its result, or what it threw. */
export type BatchOutcome<T> = { ok: true; result: T } | { ok: false; error: unknown };

/** A transaction's write, as the overlay tracks it; `value` undefined means deleted. */
interface Pending {
  value: unknown;
  json: string;
  /** True when this id must land at the end of the collection (new, or deleted then put again). */
  fresh: boolean;
}

type Overlay = Map<Collection, Map<string, Pending>>;

/** What a transaction handle needs of the committed state. */
interface StateCore {
  table(collection: Collection): RecordTable;
  committedIndex<T>(definition: IndexDefinition<T>): CommittedIndex<T>;
}

/**
 * A transaction handle writing into `overlay`, dead once `open` is false. With
 * `undo`, every write also records how to take it back (see `rollBack`). A
 * class rather than an object of closures: one allocation per transaction,
 * on every write.
 */
class OverlayTx implements WriteTx {
  open = true;

  constructor(
    private readonly core: StateCore,
    private readonly overlay: Overlay,
    private readonly undo: Undo[] | null,
  ) {}

  private live(): void {
    if (!this.open) throw new Error('this transaction has already finished');
  }

  get<V>(collection: Collection, id: string): V | undefined {
    this.live();
    const own = this.overlay.get(collection)?.get(id);
    return (own !== undefined ? own.value : this.core.table(collection).get(id)) as V | undefined;
  }

  list<V>(collection: Collection): V[] {
    this.live();
    const base = this.core.table(collection);
    const own = this.overlay.get(collection);
    if (own === undefined) return Array.from(base.values()) as V[];
    const out: unknown[] = [];
    for (const [id, value] of base) {
      const p = own.get(id);
      if (p === undefined) out.push(value);
      else if (p.value !== undefined && !p.fresh) out.push(p.value);
    }
    for (const p of own.values()) if (p.fresh && p.value !== undefined) out.push(p.value);
    return out as V[];
  }

  ids(collection: Collection): string[] {
    this.live();
    const base = this.core.table(collection);
    const own = this.overlay.get(collection);
    if (own === undefined) return Array.from(base.keys());
    const out: string[] = [];
    for (const id of base.keys()) {
      const p = own.get(id);
      if (p === undefined || (p.value !== undefined && !p.fresh)) out.push(id);
    }
    for (const [id, p] of own) if (p.fresh && p.value !== undefined) out.push(id);
    return out;
  }

  count(collection: Collection): number {
    this.live();
    const base = this.core.table(collection);
    let n = base.size;
    for (const [id, p] of this.overlay.get(collection) ?? []) n += (p.value !== undefined ? 1 : 0) - (base.has(id) ? 1 : 0);
    return n;
  }

  index<V>(definition: IndexDefinition<V>): IndexView<V> {
    this.live();
    return transactionView(this.core.committedIndex(definition), this.core.table(definition.collection), this.overlay.get(definition.collection));
  }

  put(collection: Collection, id: string, value: unknown): void {
    this.live();
    const base = this.core.table(collection);
    if (typeof id !== 'string') throw new TypeError('record id must be a string');
    const { value: frozen, json } = copyJson(value);
    const { overlay, undo } = this;
    let own = overlay.get(collection);
    if (own === undefined) {
      undo?.push({ kind: 'layer', collection, layer: undefined });
      overlay.set(collection, (own = new Map()));
    }
    const prev = own.get(id);
    if (prev !== undefined && prev.value !== undefined) {
      // An update within the transaction keeps the position the id already has.
      undo?.push({ kind: 'fields', pending: prev, value: prev.value, json: prev.json });
      prev.value = frozen;
      prev.json = json;
    } else if (prev !== undefined) {
      // Deleted earlier in this transaction: re-insert at the end, as delete+put does outside.
      undo?.push({ kind: 'layer', collection, layer: new Map(own) });
      own.delete(id);
      own.set(id, { value: frozen, json, fresh: true });
    } else {
      undo?.push({ kind: 'drop', collection, id });
      own.set(id, { value: frozen, json, fresh: !base.has(id) });
    }
  }

  delete(collection: Collection, id: string): void {
    this.live();
    const base = this.core.table(collection);
    if (typeof id !== 'string') throw new TypeError('record id must be a string');
    const { overlay, undo } = this;
    const own = overlay.get(collection);
    if (own !== undefined && own.has(id)) {
      undo?.push({ kind: 'layer', collection, layer: new Map(own) });
      own.delete(id);
    } else if (base.has(id)) {
      undo?.push(own === undefined ? { kind: 'layer', collection, layer: undefined } : { kind: 'drop', collection, id });
    }
    if (base.has(id)) {
      if (own === undefined) overlay.set(collection, new Map([[id, { value: undefined, json: '', fresh: false }]]));
      else own.set(id, { value: undefined, json: '', fresh: false });
    }
  }
}

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
   * The committed records of one collection in order, as two arrays taken at
   * once (a million records in about 10 ms): values are frozen, so the arrays
   * stay exactly this moment's state while a snapshot is encoded bit by bit.
   */
  capture(collection: Collection): { ids: string[]; values: unknown[] };
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

  /** Take back a failed batch member's writes, newest first, leaving the overlay as it was before it ran. */
  function rollBack(overlay: Overlay, undo: readonly Undo[]): void {
    for (let i = undo.length - 1; i >= 0; i--) {
      const step = undo[i]!;
      if (step.kind === 'fields') {
        step.pending.value = step.value;
        step.pending.json = step.json;
      } else if (step.kind === 'drop') overlay.get(step.collection)?.delete(step.id);
      else if (step.layer === undefined) overlay.delete(step.collection);
      else overlay.set(step.collection, step.layer);
    }
  }

  function runBatch<T>(fns: readonly ((tx: WriteTx) => T)[]): { outcomes: BatchOutcome<T>[]; ops: StoreOp[] } {
    if (running) throw new Error('a transaction cannot start inside another transaction');
    let overlay: Overlay = new Map();
    const outcomes: BatchOutcome<T>[] = [];
    for (const fn of fns) {
      // Only a batch of several needs to take a member's writes back: a single function's failure discards everything anyway.
      const undo: Undo[] | null = fns.length > 1 ? [] : null;
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
        outcomes.push({ ok: true, result });
      } catch (error) {
        if (undo === null) overlay = new Map();
        else rollBack(overlay, undo);
        outcomes.push({ ok: false, error });
      } finally {
        running = false;
        tx.open = false;
      }
    }

    const ops: StoreOp[] = [];
    for (const [collection, own] of overlay) {
      const base = table(collection);
      for (const [id, p] of own) {
        if (p.value === undefined) ops.push({ kind: 'delete', collection, id });
        else {
          // A fresh id that still exists in the base was deleted and re-put: move it to the end.
          if (p.fresh && base.has(id)) ops.push({ kind: 'delete', collection, id });
          ops.push({ kind: 'put', collection, id, value: p.value, json: p.json });
        }
      }
    }
    return { outcomes, ops };
  }

  function run<T>(fn: (tx: WriteTx) => T): { result: T; ops: StoreOp[] } {
    const { outcomes, ops } = runBatch([fn]);
    const outcome = outcomes[0]!;
    if (!outcome.ok) throw outcome.error;
    return { result: outcome.result, ops };
  }

  let version = 0;

  function apply(ops: readonly StoreOp[]): void {
    version++;
    for (const op of ops) {
      const map = table(op.collection);
      const old = op.kind === 'put' ? map.put(op.id, op.value) : map.take(op.id);
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
