// A SnapshotSource from fixed rows, for tests that write snapshot files directly.
import type { SnapshotSource } from '../../src/store/state-capture.js';
import type { Collection } from '../../src/store/store.js';

export function fixedSource(seq: number, collections: { name: Collection; ids: string[]; values: unknown[] }[]): SnapshotSource {
  return {
    seq,
    collections: collections.map(({ name, ids, values }) => ({ name, count: ids.length, chunks: () => [{ ids, values }] })),
    release: () => {},
  };
}
