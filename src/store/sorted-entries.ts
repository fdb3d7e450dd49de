// An ordered list of index entries (a key tuple, a record id, the record)
// that stays cheap at a million entries: insert and remove cost O(log n)
// to find the place plus a splice inside one chunk of at most 2 x CHUNK
// entries, never a move of the whole list. Appending in key order (the usual
// case: sequence numbers only grow) is a push onto the last chunk.
//
// Entries compare by key, then by id, so two records may share a key.
// Iterators stay valid when the list changes under them: each remembers the
// last entry it returned and finds its place again after a change.

/**
 * A number, or a tuple compared element by element (a number `n` sorts as
 * `[n]`). An index whose key is one number gives the number itself: a
 * one-element array per entry was about 56 bytes of every task, twice.
 */
export type SortKey = number | readonly number[];

export interface IndexEntry<T> {
  readonly key: SortKey;
  readonly id: string;
  readonly value: T;
}

const CHUNK = 512;

export function compareKeys(a: SortKey, b: SortKey): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = typeof a === 'number' ? [a] : a;
  const y = typeof b === 'number' ? [b] : b;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function compareEntries(a: { key: SortKey; id: string }, b: { key: SortKey; id: string }): number {
  const d = compareKeys(a.key, b.key);
  if (d !== 0) return d;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class SortedEntries<T> {
  private chunks: IndexEntry<T>[][] = [];
  private changes = 0;
  size = 0;

  /** Build from entries in any order (sorted first; a list already in order sorts in one pass). */
  static from<T>(entries: IndexEntry<T>[]): SortedEntries<T> {
    entries.sort(compareEntries);
    const list = new SortedEntries<T>();
    for (let i = 0; i < entries.length; i += CHUNK) list.chunks.push(entries.slice(i, i + CHUNK));
    list.size = entries.length;
    return list;
  }

  insert(entry: IndexEntry<T>): void {
    this.changes++;
    this.size++;
    const last = this.chunks[this.chunks.length - 1];
    if (last === undefined) {
      this.chunks.push([entry]);
      return;
    }
    if (compareEntries(last[last.length - 1] as IndexEntry<T>, entry) < 0) {
      if (last.length >= CHUNK) this.chunks.push([entry]);
      else last.push(entry);
      return;
    }
    const c = this.chunkFor(entry);
    const chunk = this.chunks[c] as IndexEntry<T>[];
    chunk.splice(lowerBound(chunk, entry), 0, entry);
    if (chunk.length > 2 * CHUNK) this.chunks.splice(c + 1, 0, chunk.splice(CHUNK));
  }

  /** Remove the entry with this key and id; false when there is none. */
  remove(key: SortKey, id: string): boolean {
    const probe = { key, id };
    const c = this.chunkFor(probe);
    const chunk = this.chunks[c];
    if (chunk === undefined) return false;
    const i = lowerBound(chunk, probe);
    const found = chunk[i];
    if (found === undefined || compareEntries(found, probe) !== 0) return false;
    this.changes++;
    this.size--;
    chunk.splice(i, 1);
    if (chunk.length === 0) this.chunks.splice(c, 1);
    return true;
  }

  /** Entries in order whose key is greater than `after` (all of them when null). */
  *after(after: SortKey | null): Generator<IndexEntry<T>> {
    let seen = this.changes;
    let last: IndexEntry<T> | null = null;
    let [c, i] = this.seek(after, null);
    for (;;) {
      if (seen !== this.changes) {
        // The list changed while the caller held us: find our place again.
        seen = this.changes;
        [c, i] = this.seek(after, last);
      }
      const chunk = this.chunks[c];
      if (chunk === undefined) return;
      const entry = chunk[i];
      if (entry === undefined) {
        c++;
        i = 0;
        continue;
      }
      i++;
      last = entry;
      yield entry;
    }
  }

  /** The position of the first entry after `lastReturned` (or, with none, whose key is greater than `after`). */
  private seek(after: SortKey | null, lastReturned: IndexEntry<T> | null): [number, number] {
    if (lastReturned === null && after === null) return [0, 0];
    const beyond = (e: IndexEntry<T>): boolean =>
      lastReturned !== null ? compareEntries(e, lastReturned) > 0 : compareKeys(e.key, after as SortKey) > 0;
    // First chunk whose last entry is beyond the bound, then the first entry beyond it there.
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid] as IndexEntry<T>[];
      if (beyond(chunk[chunk.length - 1] as IndexEntry<T>)) hi = mid;
      else lo = mid + 1;
    }
    const chunk = this.chunks[lo];
    if (chunk === undefined) return [lo, 0];
    let a = 0;
    let b = chunk.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (beyond(chunk[mid] as IndexEntry<T>)) b = mid;
      else a = mid + 1;
    }
    return [lo, a];
  }

  /** The chunk an entry belongs in: the first whose last entry is not below it (else the last chunk). */
  private chunkFor(entry: { key: SortKey; id: string }): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid] as IndexEntry<T>[];
      if (compareEntries(chunk[chunk.length - 1] as IndexEntry<T>, entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBound<T>(chunk: readonly IndexEntry<T>[], probe: { key: SortKey; id: string }): number {
  let lo = 0;
  let hi = chunk.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEntries(chunk[mid] as IndexEntry<T>, probe) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
