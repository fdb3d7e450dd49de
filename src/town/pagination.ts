// Cursor pagination shared by every list.
//
// A list is sorted by a numeric key (e.g. `seq`, or the tuple `[urgent ? 0 : 1,
// seq]` for a mailbox); the cursor is the base64url of the last returned key
// as a JSON array (`[seq]` for a one-number key),
// and the next page holds the items whose key is greater. Keys never repeat,
// so pages neither skip nor repeat items that stay in the list, even when
// others are added or removed in between.
//
// Security: the cursor is client input. It is bounded in length, decoded once,
// and must be exactly a tuple of safe integers of the list's key length.
import { invalidInput } from '../errors.js';
import type { IndexView } from '../store/derived-index.js';
import { compareKeys, type SortKey } from '../store/sorted-entries.js';

export { compareKeys, type SortKey } from '../store/sorted-entries.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const MAX_CURSOR_CHARS = 128;

export interface PageRequest {
  limit?: number;
  cursor?: string | null;
}

export interface Page<T> {
  items: T[];
  /** All items matching, across every page. */
  total: number;
  next_cursor: string | null;
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw invalidInput([{ pointer: '/limit', message: `must be an integer from 1 to ${MAX_LIMIT}` }]);
  }
}

export function encodeCursor(key: SortKey): string {
  return Buffer.from(JSON.stringify(typeof key === 'number' ? [key] : key), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, keyLength: number): SortKey {
  const bad = invalidInput([{ pointer: '/cursor', message: 'is not a cursor this list returned' }]);
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  if (!Array.isArray(parsed) || parsed.length !== keyLength || !parsed.every((n) => Number.isSafeInteger(n))) throw bad;
  return parsed as number[];
}

/**
 * One page of an index bucket (its sort key is the cursor): reads only the
 * page, plus one record to know whether more follow. With `filter`, `total`
 * needs a pass over the whole bucket (used only by rare filters, e.g. a tag).
 */
export function pageOf<T>(view: IndexView<T>, bucket: string, keyLength: number, req: PageRequest = {}, filter?: (item: T) => boolean): Page<T> {
  const limit = req.limit ?? DEFAULT_LIMIT;
  checkLimit(limit);
  const after = req.cursor === undefined || req.cursor === null ? null : decodeCursor(req.cursor, keyLength);
  const items: T[] = [];
  let lastKey: SortKey | null = null;
  let more = false;
  for (const entry of view.entries(bucket, after)) {
    if (filter !== undefined && !filter(entry.value)) continue;
    if (items.length === limit) {
      more = true;
      break;
    }
    items.push(entry.value);
    lastKey = entry.key;
  }
  return { items, total: filter === undefined ? view.count(bucket) : countWhere(view, bucket, filter), next_cursor: more && lastKey !== null ? encodeCursor(lastKey) : null };
}

function countWhere<T>(view: IndexView<T>, bucket: string, filter: (item: T) => boolean): number {
  let n = 0;
  for (const entry of view.entries(bucket)) if (filter(entry.value)) n++;
  return n;
}

/** Sort `items` by key, then cut the page after `req.cursor` (small lists: agents). */
export function paginate<T>(items: readonly T[], keyOf: (item: T) => SortKey, keyLength: number, req: PageRequest = {}): Page<T> {
  const limit = req.limit ?? DEFAULT_LIMIT;
  checkLimit(limit);
  const after = req.cursor === undefined || req.cursor === null ? null : decodeCursor(req.cursor, keyLength);
  const keyed = items.map((item) => ({ item, key: keyOf(item) }));
  keyed.sort((a, b) => compareKeys(a.key, b.key));
  let start = 0;
  if (after !== null) {
    while (start < keyed.length && compareKeys(keyed[start]!.key, after) <= 0) start++;
  }
  const slice = keyed.slice(start, start + limit);
  const last = slice[slice.length - 1];
  const more = start + limit < keyed.length;
  return {
    items: slice.map((k) => k.item),
    total: keyed.length,
    next_cursor: more && last !== undefined ? encodeCursor(last.key) : null,
  };
}
