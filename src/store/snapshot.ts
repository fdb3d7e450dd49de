// snapshot.json: the whole state as of one sequence number, written when the
// journal is compacted and loaded first at open.
//
// Format (one JSON object on one line, keys in this exact order):
//
//   {"format":"townhall-snapshot","version":1,"seq":N,"sha256":"<64 hex>","collections":C}\n
//
//   N    the last journal sequence number the snapshot contains
//   C    {"agents":[["<id>",<value>],...],"tasks":[...],...} in insertion order
//   sha256 is over the exact bytes of C, so a damaged file is detected even
//   when it still parses.
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
const HEADER = /^\{"format":"townhall-snapshot","version":1,"seq":(\d+),"sha256":"([0-9a-f]{64})","collections":/;

/** Serialise the committed state (synchronously, so it is exactly the state at `seq`). */
export function encodeSnapshot(seq: number, state: MemoryState): string {
  const parts: string[] = [];
  for (const collection of COLLECTIONS) {
    const rows: string[] = [];
    for (const entry of state.entries(collection)) rows.push(JSON.stringify(entry));
    parts.push(`"${collection}":[${rows.join(',')}]`);
  }
  const body = `{${parts.join(',')}}`;
  const digest = createHash('sha256').update(body).digest('hex');
  return `{"format":"townhall-snapshot","version":1,"seq":${seq},"sha256":"${digest}","collections":${body}}\n`;
}

/** Replace DIR/snapshot.json with `text`, crash-safely (see header). */
export async function writeSnapshot(dir: string, text: string): Promise<void> {
  const tmp = join(dir, TMP_FILE);
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, SNAPSHOT_FILE));
  await fsyncDir(dir);
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

  const header = HEADER.exec(buf.toString('latin1', 0, Math.min(buf.length, 200)));
  if (header === null) throw bad('unrecognised header');
  const seq = Number(header[1]);
  const bodyStart = header[0].length;
  const tail = buf.toString('latin1', buf.length - 2);
  if (tail !== '}\n' || !Number.isSafeInteger(seq)) throw bad('truncated file');
  const body = buf.subarray(bodyStart, buf.length - 2);
  if (createHash('sha256').update(body).digest('hex') !== header[2]) throw bad('checksum mismatch');

  let collections: unknown;
  try {
    collections = JSON.parse(body.toString('utf8'));
  } catch {
    throw bad('unparsable JSON');
  }
  if (typeof collections !== 'object' || collections === null || Array.isArray(collections)) {
    throw bad('invalid structure');
  }
  for (const [collection, rows] of Object.entries(collections)) {
    if (!isCollection(collection) || !Array.isArray(rows)) throw bad('invalid structure');
    const seen = new Set<string>();
    const ops: StoreOp[] = [];
    for (const row of rows as unknown[]) {
      if (!Array.isArray(row) || row.length !== 2 || typeof row[0] !== 'string' || seen.has(row[0])) {
        throw bad(`invalid record in ${collection}`);
      }
      seen.add(row[0]);
      ops.push({ kind: 'put', collection, id: row[0], value: deepFreeze(row[1] as unknown) });
    }
    apply(ops);
  }
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
