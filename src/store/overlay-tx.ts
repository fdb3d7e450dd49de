// A write transaction's handle and its overlay: the transaction's own writes,
// kept apart from the committed state until MemoryState turns them into
// operations (memory-state.ts). Reads through the handle see the committed
// records with the overlay on top; in a batch, each write also records how to
// take it back, so a member that fails leaves the members before it intact.
import { storedJson } from './stored-json.js';
import { transactionView, type CommittedIndex, type IndexDefinition, type IndexView } from './derived-index.js';
import type { RecordTable } from './record-table.js';
import type { Collection, WriteTx } from './store.js';

/** A transaction's write, as the overlay tracks it; `value` undefined means deleted. */
export interface Pending {
  value: unknown;
  json: string;
  /** True when this id must land at the end of the collection (new, or deleted then put again). */
  fresh: boolean;
  /** Fresh, and the committed state holds the id: it is deleted there first (so it moves to the end). */
  moved: boolean;
}

export type Overlay = Map<Collection, Map<string, Pending>>;

/** What a transaction handle needs of the committed state. */
export interface StateCore {
  table(collection: Collection): RecordTable;
  committedIndex<T>(definition: IndexDefinition<T>): CommittedIndex<T>;
}

/**
 * A transaction handle writing into `overlay`, dead once `open` is false. With
 * `undo`, every write also records how to take it back (see `rollBack`). A
 * class rather than an object of closures: one allocation per transaction,
 * on every write.
 */
export class OverlayTx implements WriteTx {
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
    this.write(collection, id, value, false);
  }

  create(collection: Collection, id: string, value: unknown): void {
    this.write(collection, id, value, true);
  }

  /** A put; `known`: the caller vouches that the committed state does not hold `id` (see WriteTx.create). */
  private write(collection: Collection, id: string, value: unknown, known: boolean): void {
    this.live();
    const base = this.core.table(collection);
    if (typeof id !== 'string') throw new TypeError('record id must be a string');
    const { value: frozen, json } = storedJson(value);
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
      own.set(id, { value: frozen, json, fresh: true, moved: base.has(id) });
    } else {
      undo?.push({ kind: 'drop', collection, id });
      own.set(id, { value: frozen, json, fresh: known || !base.has(id), moved: false });
    }
  }

  delete(collection: Collection, id: string): void {
    this.live();
    const base = this.core.table(collection);
    if (typeof id !== 'string') throw new TypeError('record id must be a string');
    const { overlay, undo } = this;
    const own = overlay.get(collection);
    const inBase = base.has(id); // one read of a large table, not two
    if (own !== undefined && own.has(id)) {
      undo?.push({ kind: 'layer', collection, layer: new Map(own) });
      own.delete(id);
    } else if (inBase) {
      undo?.push(own === undefined ? { kind: 'layer', collection, layer: undefined } : { kind: 'drop', collection, id });
    }
    if (inBase) {
      if (own === undefined) overlay.set(collection, new Map([[id, { value: undefined, json: '', fresh: false, moved: false }]]));
      else own.set(id, { value: undefined, json: '', fresh: false, moved: false });
    }
  }
}

/**
 * How to take back one write of a batch member that fails (runBatch), so that
 * the members before it keep theirs without a copy of the overlay per member
 * (a copy per member made a batch of n cost n^2). `fields`: an entry updated in
 * place gets its old value back; `drop`: an entry added at the end is removed;
 * `layer`: a collection's layer as it was before a write that moved an entry
 * (delete then put), or undefined when the write created the layer. Entries
 * are shared with a saved layer, so older `fields` steps still apply to it.
 */
export type Undo =
  | { kind: 'fields'; pending: Pending; value: unknown; json: string }
  | { kind: 'drop'; collection: Collection; id: string }
  | { kind: 'layer'; collection: Collection; layer: Map<string, Pending> | undefined };

/** Take back a failed batch member's writes, newest first, leaving the overlay as it was before it ran. */
export function rollBack(overlay: Overlay, undo: readonly Undo[]): void {
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
