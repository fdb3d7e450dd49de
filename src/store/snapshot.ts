// snapshot.json: the whole state as of one sequence number, written when the
// journal is compacted and loaded first at open.
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
// Safety: the file is replaced crash-safely: write snapshot.json.tmp, fsync it,
// rename it over snapshot.json, fsync the directory. A crash at any step leaves
// either the old snapshot or the new one, never a partial file under the real
// name. This holds with durability "none" too: the journal is reset after a
// snapshot, so a lost snapshot would lose everything, not just recent writes.
import { createHash } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isCollection } from './journal-record.js';
import { deepFreeze, type MemoryState, type StoreOp } from './memory-state.js';
import { StoreOpenError } from './store-errors.js';
import { COLLECTIONS } from './store.js';

export const SNAPSHOT_FILE = 'snapshot.json';
const TMP_FILE = 'snapshot.json.tmp';
const HEADER = /^\{"format":"townhall-snapshot","version":2,"seq":(\d+),"rows":(\d+)\}$/;
const TRAILER = /^\{"end":true,"sha256":"([0-9a-f]{64})"\}$/;
/** Rows are written in chunks of about this many characters. */
const CHUNK_CHARS = 1 << 20;

/** The committed state at `seq`, one encoded line per record. */
export interface SnapshotData {
  seq: number;
  rows: string[];
}

/** Capture the committed state (synchronously, so it is exactly the state at `seq`). */
export function captureSnapshot(seq: number, state: MemoryState): SnapshotData {
  const rows: string[] = [];
  for (const collection of COLLECTIONS) {
    for (const [id, value] of state.entries(collection)) rows.push(`${JSON.stringify([collection, id, value])}\n`);
  }
  return { seq, rows };
}

/** Replace DIR/snapshot.json with `data`, crash-safely (see header), in bounded chunks. */
export async function writeSnapshot(dir: string, data: SnapshotData): Promise<void> {
  const tmp = join(dir, TMP_FILE);
  try {
    await writeTmp(tmp, data);
    await rename(tmp, join(dir, SNAPSHOT_FILE));
  } catch (err) {
    // A failed compaction is retried later; a half-written file would only hold disk space meanwhile.
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}

async function writeTmp(tmp: string, data: SnapshotData): Promise<void> {
  const handle = await open(tmp, 'w', 0o600);
  try {
    const hash = createHash('sha256');
    await handle.write(`{"format":"townhall-snapshot","version":2,"seq":${data.seq},"rows":${data.rows.length}}\n`);
    let chunk = '';
    for (const row of data.rows) {
      chunk += row;
      if (chunk.length >= CHUNK_CHARS) {
        hash.update(chunk);
        await handle.write(chunk);
        chunk = '';
      }
    }
    hash.update(chunk);
    await handle.write(`${chunk}{"end":true,"sha256":"${hash.digest('hex')}"}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Load DIR/snapshot.json into `apply`; returns the sequence number it covers
 * (0 when there is no snapshot). A leftover snapshot.json.tmp is an unfinished
 * compaction and is removed.
 */
export async function readSnapshot(dir: string, apply: (ops: StoreOp[]) => void): Promise<number> {
  await rm(join(dir, TMP_FILE), { force: true });
  const file = join(dir, SNAPSHOT_FILE);
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const bad = (reason: string): StoreOpenError =>
    new StoreOpenError(`${file} is corrupt: ${reason}; restore from backup or move the file aside`);

  const headerEnd = buf.indexOf(10);
  const header = headerEnd === -1 ? null : HEADER.exec(buf.toString('utf8', 0, headerEnd));
  if (header === null) throw bad('unrecognised header');
  const seq = Number(header[1]);
  const rowCount = Number(header[2]);
  if (buf[buf.length - 1] !== 10) throw bad('truncated file');
  const trailerStart = buf.lastIndexOf(10, buf.length - 2) + 1;
  const trailer = trailerStart <= headerEnd ? null : TRAILER.exec(buf.toString('utf8', trailerStart, buf.length - 1));
  if (trailer === null || !Number.isSafeInteger(seq)) throw bad('truncated file');
  const rowsStart = headerEnd + 1;
  if (createHash('sha256').update(buf.subarray(rowsStart, trailerStart)).digest('hex') !== trailer[1]) throw bad('checksum mismatch');

  const seen = new Map<string, Set<string>>();
  let ops: StoreOp[] = [];
  let rows = 0;
  for (let start = rowsStart; start < trailerStart; ) {
    const end = buf.indexOf(10, start);
    let row: unknown;
    try {
      row = JSON.parse(buf.toString('utf8', start, end));
    } catch {
      throw bad(`unparsable record at byte offset ${start}`);
    }
    if (!Array.isArray(row) || row.length !== 3 || typeof row[0] !== 'string' || !isCollection(row[0]) || typeof row[1] !== 'string') {
      throw bad(`invalid record at byte offset ${start}`);
    }
    const ids = seen.get(row[0]) ?? new Set<string>();
    if (ids.has(row[1])) throw bad(`duplicate record at byte offset ${start}`);
    ids.add(row[1]);
    seen.set(row[0], ids);
    ops.push({ kind: 'put', collection: row[0], id: row[1], value: deepFreeze(row[2] as unknown) });
    // Apply in batches so a large snapshot never holds every op at once.
    if (ops.length >= 10_000) {
      apply(ops);
      ops = [];
    }
    rows++;
    start = end + 1;
  }
  apply(ops);
  if (rows !== rowCount) throw bad(`expected ${rowCount} records, found ${rows}`);
  return seq;
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
