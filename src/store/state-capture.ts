// The committed state as of one moment, and a walk over it that never holds
// the event loop for long: what both snapshot writers (the journal's
// snapshot.json and the Redis snapshot) are made from.
//
// Capturing starts at once (a list of generations per collection) and is
// exact: each table copies a generation just before a write would change it,
// and stored values are deep-frozen (record-table.ts). The walk takes the
// other generations as it reaches them, one per event-loop turn at most, and
// serialises at its own pace, a few milliseconds per turn.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MemoryState } from './memory-state.js';
import type { Chunk } from './record-table.js';
import { COLLECTIONS, type Collection } from './store.js';

/** A slice of the walk ends after this long, or after SLICE_ROWS rows, whichever comes first. */
const SLICE_MS = 4;
export const SLICE_ROWS = 2000;

/** The committed state at `seq`: per collection, its record count and its records in insertion order, in chunks. */
export interface SnapshotSource {
  seq: number;
  collections: { name: Collection; count: number; chunks(): Iterable<Chunk<unknown>> }[];
  /** The walk is done or abandoned: writes stop copying for it. Safe to call twice. */
  release(): void;
}

/** Capture the committed state at `seq`: synchronous (so it is exactly the state at `seq`) and cheap. */
export function captureSnapshot(seq: number, state: MemoryState): SnapshotSource {
  const captures = COLLECTIONS.map((name) => ({ name, capture: state.capture(name) }));
  return {
    seq,
    collections: captures.map(({ name, capture }) => ({ name, count: capture.count, chunks: () => capture.chunks() })),
    release: () => {
      for (const { capture } of captures) capture.release();
    },
  };
}

/**
 * Calls `visit` for every record in order (collections in COLLECTIONS order),
 * yielding to the event loop between slices so requests and journal flushes
 * run meanwhile. A visit that returns a promise (a buffer to write) is awaited.
 * Releases the source at the end, or when `visit` throws.
 */
export async function forEachRow(
  source: SnapshotSource,
  visit: (collection: Collection, id: string, value: unknown) => void | Promise<void>,
): Promise<void> {
  try {
    for (const { name, chunks } of source.collections) {
      for (const { ids, values } of chunks()) {
        // Taking a chunk not taken yet (by a write) is a copy of up to a generation: a turn of its own.
        await nextTurn();
        for (let i = 0; i < ids.length; ) {
          const sliceStart = performance.now();
          const sliceEnd = Math.min(ids.length, i + SLICE_ROWS);
          while (i < sliceEnd) {
            const pending = visit(name, ids[i] as string, values[i]);
            if (pending !== undefined) await pending;
            i++;
            if ((i & 63) === 0 && performance.now() - sliceStart >= SLICE_MS) break;
          }
          await nextTurn();
        }
      }
    }
  } finally {
    source.release();
  }
}
