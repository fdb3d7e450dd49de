// The Store interface: the only thing the town layer knows about persistence.
//
// Records live in named collections, keyed by string id, as plain JSON values.
// A transaction is a *synchronous* function: it runs alone (Node is
// single-threaded and nothing awaits inside it), sees its own writes, and its
// writes are applied all together or not at all (a throw discards them).
// `transact` resolves only once the writes are durable as the store promises
// (for the journal store with durability "always": after fdatasync), so a
// caller that awaits it before answering never acknowledges a lost write.
//
// The Redis store (redis-store.ts) implements it with an in-memory copy per
// process and optimistic commits to a shared log (docs/design/redis-store.md),
// so routes and town logic do not change.

import type { IndexDefinition, IndexView } from './derived-index.js';

export type Collection = 'agents' | 'tasks' | 'messages' | 'idempotency' | 'meta';

export const COLLECTIONS: readonly Collection[] = ['agents', 'tasks', 'messages', 'idempotency', 'meta'];

/** Any JSON value we store. Records are objects; `meta` may hold scalars. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface ReadTx {
  get<T = unknown>(collection: Collection, id: string): T | undefined;
  /** Every record of a collection, in insertion order (an update keeps its place). */
  list<T = unknown>(collection: Collection): T[];
  count(collection: Collection): number;
  /** The ids of a collection, in the order `list` returns their records (export, tools). */
  ids(collection: Collection): string[];
  /** A derived index of a collection (derived-index.ts): ordered buckets kept up to date by the store. */
  index<T>(definition: IndexDefinition<T>): IndexView<T>;
}

export interface WriteTx extends ReadTx {
  put(collection: Collection, id: string, value: unknown): void;
  /**
   * `put` for an id the caller has just made and no record can hold yet (a
   * random UUID): the record joins the end of its collection without the
   * lookup that `put` makes to tell an insert from an update (a lookup in a
   * large table, ~3% of a write at 64 connections). Should the id exist after
   * all, the committed state still ends up as `put` would leave it (updated
   * in place); only this transaction's own view lists it twice.
   */
  create(collection: Collection, id: string, value: unknown): void;
  delete(collection: Collection, id: string): void;
}

export interface Store {
  /** Run `fn` as one atomic transaction; resolves with its result once durable. */
  transact<T>(fn: (tx: WriteTx) => T): Promise<T>;
  /**
   * Run a read-only view. Resolves after every write the view could see is
   * durable, so a client is never shown data that a crash could still take back.
   */
  read<T>(fn: (tx: ReadTx) => T): Promise<T>;
  /** Flush what is pending and release files and locks. Idempotent. */
  close(): Promise<void>;
  /**
   * A number that changes whenever the state changes (a transaction applied),
   * so callers can cache views derived from the whole state.
   */
  version(): number;
  /**
   * Optional (stores shared by several processes): calls `listener` with the
   * records another process changed, after this store applied them, or
   * 'reset' when it reloaded everything. Returns the unsubscribe function.
   */
  onRemoteChange?(listener: (changes: readonly RecordChange[] | 'reset') => void): () => void;
}

/** One record a remote transaction wrote; `value` is undefined when it was deleted. */
export interface RecordChange {
  collection: Collection;
  id: string;
  value: unknown;
}
