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
import { forEachRow, type SnapshotSource } from './state-capture.js';

export const SNAPSHOT_FILE = 'snapshot.json';
export const SNAPSHOT_TMP_FILE = 'snapshot.json.tmp';
/** Rows are written to the file in chunks of up to this many bytes. */
const CHUNK_BYTES = 1 << 20;
/** Replace DIR/snapshot.json with `source`, crash-safely (see header). */
export async function writeSnapshot(dir: string, source: SnapshotSource): Promise<void> {
  await writeSnapshotTmp(dir, source);
  await installSnapshot(dir);
}

/** Write and fsync DIR/snapshot.json.tmp in slices; resolves with its size. Removes it if anything fails. */
export async function writeSnapshotTmp(dir: string, source: SnapshotSource): Promise<number> {
  const tmp = join(dir, SNAPSHOT_TMP_FILE);
  try {
    const handle = await open(tmp, 'w', 0o600);
    try {
      await writeRows(handle, source);
      await handle.sync();
      return (await handle.stat()).size;
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
  const rowCount = source.collections.reduce((n, c) => n + c.count, 0);
  await handle.write(`{"format":"townhall-snapshot","version":2,"seq":${source.seq},"rows":${rowCount}}\n`);
  const sink = rowSink(handle);
  await forEachRow(source, (name, id, value) => {
    const row = `["${name}",${JSON.stringify(id)},${JSON.stringify(value)}]\n`;
    return sink.add(row) ? undefined : sink.flush(row);
  });
  await sink.flush();
  await handle.write(`{"end":true,"sha256":"${sink.digest()}"}\n`);
}

/**
 * Rows encoded straight into one reused buffer, hashed and written when it
 * fills: each row string dies at once, so the young generation holds no
 * growing text while a large snapshot is written and its scavenges stay cheap.
 */
function rowSink(handle: Handle) {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  async function write(bytes: Buffer, length: number): Promise<void> {
    hash.update(bytes.subarray(0, length));
    for (let at = 0; at < length; ) at += (await handle.write(bytes, at, length - at)).bytesWritten;
  }
  return {
    /** False when the row may not fit (UTF-8 takes at most 3 bytes per UTF-16 unit): flush it instead. */
    add(row: string): boolean {
      if (used + row.length * 3 > buf.length) return false;
      used += buf.write(row, used);
      return true;
    },
    /** Write what is buffered, then `row` (buffered, or written alone if it is larger than the buffer). */
    async flush(row?: string): Promise<void> {
      if (used > 0) await write(buf, used);
      used = 0;
      if (row !== undefined && !this.add(row)) {
        const bytes = Buffer.from(row, 'utf8');
        await write(bytes, bytes.length);
      }
    },
    digest: () => hash.digest('hex'),
  };
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
