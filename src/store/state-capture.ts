// The committed state as of one moment, and a walk over it that never holds
// the event loop for long: what both snapshot writers (the journal's
// snapshot.json and the Redis snapshot) are made from.
//
// Capturing is cheap and synchronous (two arrays per collection, ~15 ms per
// million records) and exact: stored values are deep-frozen, so the captured
// arrays keep describing that moment while writes go on. The walk then
// serialises at its own pace, a few milliseconds per event-loop turn.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MemoryState } from './memory-state.js';
import { COLLECTIONS, type Collection } from './store.js';

/** A slice of the walk ends after this long, or after SLICE_ROWS rows, whichever comes first. */
const SLICE_MS = 4;
export const SLICE_ROWS = 2000;

/** The committed state at `seq`: per collection, ids and values in insertion order. */
export interface SnapshotSource {
  seq: number;
  collections: { name: Collection; ids: readonly string[]; values: readonly unknown[] }[];
}

/** Capture the committed state, synchronously (so it is exactly the state at `seq`) and cheaply. */
export function captureSnapshot(seq: number, state: MemoryState): SnapshotSource {
  return {
    seq,
    collections: COLLECTIONS.map((name) => ({ name, ...state.capture(name) })),
  };
}

/**
 * Calls `visit` for every record in order (collections in COLLECTIONS order),
 * yielding to the event loop between slices so requests and journal flushes
 * run meanwhile. A visit that returns a promise (a buffer to write) is awaited.
 */
export async function forEachRow(
  source: SnapshotSource,
  visit: (collection: Collection, id: string, value: unknown) => void | Promise<void>,
): Promise<void> {
  for (const { name, ids, values } of source.collections) {
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
