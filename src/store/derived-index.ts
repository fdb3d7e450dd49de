// Derived indexes: ordered views of one collection that the store keeps up
// to date as it applies changes, so a query reads only the records it needs
// (a page of the backlog, the head of one mailbox, a count per state) instead
// of the whole collection.
//
// A definition says which buckets a record is listed in and its sort key
// there. The town defines them (it knows what a backlog is); the store only
// maintains them. An index is built from the committed records the first time
// it is asked for, then updated by every applied operation, whichever way the
// operation arrived (a local transaction, journal replay, another replica's
// commit on Redis), so it can never disagree with the records.
//
// Inside a write transaction the view also reflects the transaction's own
// writes: committed entries of records the transaction touched are hidden and
// the touched records are merged in at their new places.
import { SortedEntries, compareKeys, type IndexEntry, type SortKey } from './sorted-entries.js';
import type { Collection } from './store.js';

export type { IndexEntry, SortKey } from './sorted-entries.js';

export interface IndexDefinition<T> {
  /** For messages and debugging only. */
  readonly name: string;
  readonly collection: Collection;
  /** The buckets a record is listed in, each once; none leaves it out of the index. */
  buckets(value: T): readonly string[];
  /** The record's place in each of its buckets (also the pagination cursor). */
  key(value: T): SortKey;
}

export interface IndexView<T> {
  /** How many records a bucket holds. */
  count(bucket: string): number;
  /** A bucket's records in key order; with `after`, only those whose key is greater. */
  entries(bucket: string, after?: SortKey | null): Iterable<IndexEntry<T>>;
}

export function defineIndex<T>(definition: IndexDefinition<T>): IndexDefinition<T> {
  return Object.freeze({ ...definition });
}

/** An index over committed records. */
export class CommittedIndex<T> implements IndexView<T> {
  private readonly lists = new Map<string, SortedEntries<T>>();

  constructor(
    readonly definition: IndexDefinition<T>,
    rows: Iterable<[string, unknown]>,
  ) {
    const gathered = new Map<string, IndexEntry<T>[]>();
    for (const [id, value] of rows) {
      const buckets = definition.buckets(value as T);
      if (buckets.length === 0) continue;
      const entry: IndexEntry<T> = { key: definition.key(value as T), id, value: value as T };
      for (const bucket of buckets) {
        const list = gathered.get(bucket);
        if (list === undefined) gathered.set(bucket, [entry]);
        else list.push(entry);
      }
    }
    for (const [bucket, list] of gathered) this.lists.set(bucket, SortedEntries.from(list));
  }

  add(id: string, value: unknown): void {
    const buckets = this.definition.buckets(value as T);
    if (buckets.length === 0) return;
    const entry: IndexEntry<T> = { key: this.definition.key(value as T), id, value: value as T };
    for (const bucket of buckets) {
      let list = this.lists.get(bucket);
      if (list === undefined) this.lists.set(bucket, (list = new SortedEntries()));
      list.insert(entry);
    }
  }

  remove(id: string, value: unknown): void {
    const buckets = this.definition.buckets(value as T);
    if (buckets.length === 0) return;
    const key = this.definition.key(value as T);
    for (const bucket of buckets) {
      const list = this.lists.get(bucket);
      if (list === undefined) continue;
      list.remove(key, id);
      // Empty buckets go, so buckets named after ids (a mailbox, an agent) do not pile up.
      if (list.size === 0) this.lists.delete(bucket);
    }
  }

  count(bucket: string): number {
    return this.lists.get(bucket)?.size ?? 0;
  }

  entries(bucket: string, after: SortKey | null = null): Iterable<IndexEntry<T>> {
    return this.lists.get(bucket)?.after(after) ?? [];
  }
}

/**
 * The index as a transaction sees it: `base` is the committed collection,
 * `own` the transaction's writes to it (value undefined = deleted).
 */
export function transactionView<T>(
  committed: CommittedIndex<T>,
  base: { get(id: string): unknown },
  own: ReadonlyMap<string, { value: unknown }> | undefined,
): IndexView<T> {
  if (own === undefined || own.size === 0) return committed;
  const { definition } = committed;
  const inBucket = (value: unknown, bucket: string): boolean => value !== undefined && definition.buckets(value as T).includes(bucket);
  return {
    count(bucket) {
      let n = committed.count(bucket);
      for (const [id, p] of own) n += (inBucket(p.value, bucket) ? 1 : 0) - (inBucket(base.get(id), bucket) ? 1 : 0);
      return n;
    },
    entries(bucket, after = null) {
      // Taken now: a transaction that writes while it iterates sees the bucket as it was when it asked.
      const touched = new Set(own.keys());
      const mine: IndexEntry<T>[] = [];
      for (const [id, p] of own) {
        if (!inBucket(p.value, bucket)) continue;
        const key = definition.key(p.value as T);
        if (after === null || compareKeys(key, after) > 0) mine.push({ key, id, value: p.value as T });
      }
      mine.sort((a, b) => compareKeys(a.key, b.key) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return merge(committed.entries(bucket, after), touched, mine);
    },
  };
}

function* merge<T>(committed: Iterable<IndexEntry<T>>, hidden: ReadonlySet<string>, mine: readonly IndexEntry<T>[]): Generator<IndexEntry<T>> {
  let i = 0;
  for (const entry of committed) {
    if (hidden.has(entry.id)) continue;
    while (i < mine.length && precedes(mine[i] as IndexEntry<T>, entry)) yield mine[i++] as IndexEntry<T>;
    yield entry;
  }
  while (i < mine.length) yield mine[i++] as IndexEntry<T>;
}

function precedes<T>(a: IndexEntry<T>, b: IndexEntry<T>): boolean {
  const d = compareKeys(a.key, b.key);
  return d < 0 || (d === 0 && a.id < b.id);
}
