// snapshot.json: the whole state as of one sequence number, written when the
// journal is compacted and loaded first at open (snapshot-reader.ts).
//
// Format (version 2), one JSON value per line, so no single string ever holds
// the whole state (V8 strings stop at about 512 MiB):
//
//   {"format":"townhall-snapshot","version":2,"seq":N,"rows":R}\n
//   ["<collection>","<id>",<value>]\n        R lines, collections in order,
//   ...                                      records in insertion order
//   {"end":true,"sha256":"<64 hex>"}\n
//
//   N       the last journal sequence number the snapshot contains
//   sha256  over the exact bytes of the R row lines (newlines included), so a
//           damaged file is detected even when every line still parses
//
// Capture is cheap and synchronous: values are deep-frozen and never change in
// place, so copying each collection's ids and value references (two flat
// arrays, ~15 ms for a million records) is a consistent picture of the state
// at N. Serialising it is the slow part, so it runs in slices of a few
// milliseconds (or SLICE_ROWS rows), yielding to the event loop between them:
// requests and journal writes go on while a large snapshot is written.
//
// Safety: the file is replaced crash-safely in two steps the journal writer
// runs separately: writeSnapshotTmp writes and fsyncs snapshot.json.tmp;
// installSnapshot renames it over snapshot.json and fsyncs the directory. A
// crash at any step leaves either the old snapshot or the new one, never a
// partial file under the real name. This holds with durability "none" too:
// the journal is cut after a snapshot, so a lost snapshot would lose more
// than the last moments of writes.
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MemoryState } from './memory-state.js';
import { COLLECTIONS, type Collection } from './store.js';

export const SNAPSHOT_FILE = 'snapshot.json';
export const SNAPSHOT_TMP_FILE = 'snapshot.json.tmp';
/** Rows are written to the file in chunks of about this many characters. */
const CHUNK_CHARS = 1 << 20;
/** A slice of serialisation ends after this long, or after SLICE_ROWS rows, whichever comes first. */
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
    collections: COLLECTIONS.map((name) => ({ name, ids: state.view.ids(name), values: state.view.list(name) })),
  };
}

/** Replace DIR/snapshot.json with `source`, crash-safely (see header). */
export async function writeSnapshot(dir: string, source: SnapshotSource): Promise<void> {
  await writeSnapshotTmp(dir, source);
  await installSnapshot(dir);
}

/** Write and fsync DIR/snapshot.json.tmp in slices; removes it if anything fails. */
export async function writeSnapshotTmp(dir: string, source: SnapshotSource): Promise<void> {
  const tmp = join(dir, SNAPSHOT_TMP_FILE);
  try {
    const handle = await open(tmp, 'w', 0o600);
    try {
      await writeRows(handle, source);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    // A failed compaction is retried later; a half-written file would only hold disk space meanwhile.
    await removeSnapshotTmp(dir);
    throw err;
  }
}

type Handle = Awaited<ReturnType<typeof open>>;

async function writeRows(handle: Handle, source: SnapshotSource): Promise<void> {
  const rowCount = source.collections.reduce((n, c) => n + c.ids.length, 0);
  await handle.write(`{"format":"townhall-snapshot","version":2,"seq":${source.seq},"rows":${rowCount}}\n`);
  const hash = createHash('sha256');
  let chunk = '';
  for (const { name, ids, values } of source.collections) {
    const prefix = `["${name}",`;
    for (let i = 0; i < ids.length; ) {
      const sliceStart = performance.now();
      const sliceEnd = Math.min(ids.length, i + SLICE_ROWS);
      while (i < sliceEnd) {
        chunk += `${prefix}${JSON.stringify(ids[i])},${JSON.stringify(values[i])}]\n`;
        i++;
        if ((i & 63) === 0 && performance.now() - sliceStart >= SLICE_MS) break;
      }
      if (chunk.length >= CHUNK_CHARS) {
        const bytes = Buffer.from(chunk, 'utf8'); // encoded once, for the hash and the file
        hash.update(bytes);
        await handle.write(bytes);
        chunk = '';
      }
      await nextTurn(); // the point of slicing: let requests and journal flushes run
    }
  }
  hash.update(chunk);
  await handle.write(`${chunk}{"end":true,"sha256":"${hash.digest('hex')}"}\n`);
}

/** Rename DIR/snapshot.json.tmp over snapshot.json and make that durable; removes the tmp file if the rename fails. */
export async function installSnapshot(dir: string): Promise<void> {
  try {
    await rename(join(dir, SNAPSHOT_TMP_FILE), join(dir, SNAPSHOT_FILE));
  } catch (err) {
    await removeSnapshotTmp(dir);
    throw err;
  }
  await fsyncDir(dir);
}

/** A leftover snapshot.json.tmp is an unfinished compaction: nothing refers to it. */
export async function removeSnapshotTmp(dir: string): Promise<void> {
  await rm(join(dir, SNAPSHOT_TMP_FILE), { force: true }).catch(() => {});
}

/** Make a rename or unlink in `dir` durable. Windows cannot open directories; NTFS journals renames. */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
