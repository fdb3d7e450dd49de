// Loads snapshot.json (format: snapshot.ts) into a fresh memory state at open.
//
// Start-up time of a large town is mostly this file: for a million records,
// JSON.parse of each row is about half of it, then Map inserts, garbage
// collection and freezing. So it does nothing more than that: the file is
// streamed in 4 MiB chunks (the next read runs while one is parsed; no
// whole-file buffer), each row is parsed once straight from its bytes, the
// sha256 is fed whole runs of rows rather than line by line, values are frozen
// by freezeJson, and duplicates are found by comparing each collection's size
// with its row count instead of a Set of every id.
//
// Safety: everything is checked before the state is used: header, row shape,
// row count, duplicates, trailer and checksum (over the exact row bytes). The
// checksum is compared after the rows are parsed, so a damaged row may be
// reported as unparsable rather than as a checksum mismatch; either way
// opening stops with a StoreOpenError naming the file.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { freezeJson } from './freeze-json.js';
import { isCollection } from './journal-record.js';
import type { MemoryState, StoreOp } from './memory-state.js';
import { SNAPSHOT_FILE } from './snapshot.js';
import { StoreOpenError } from './store-errors.js';
import { COLLECTIONS, type Collection } from './store.js';

const HEADER = /^\{"format":"townhall-snapshot","version":2,"seq":(\d+),"rows":(\d+)\}$/;
const TRAILER = /^\{"end":true,"sha256":"([0-9a-f]{64})"\}$/;
const READ_BYTES = 4 << 20;
const APPLY_BATCH = 10_000;
const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;

type FileHandle = Awaited<ReturnType<typeof open>>;

/** Load DIR/snapshot.json into `state` (fresh); returns the sequence number it covers, 0 when there is none. */
export async function readSnapshot(dir: string, state: MemoryState): Promise<number> {
  const file = join(dir, SNAPSHOT_FILE);
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    const loader = createLoader(file, state);
    let tail: Buffer | undefined;
    let tailOffset = 0;
    let chunkOffset = 0;
    for await (const chunk of readChunks(handle)) {
      let pos = 0;
      if (tail !== undefined) {
        const nl = chunk.indexOf(NEWLINE);
        if (nl === -1) {
          tail = Buffer.concat([tail, chunk]);
          chunkOffset += chunk.length;
          continue;
        }
        const line = Buffer.concat([tail, chunk.subarray(0, nl + 1)]);
        loader.lines(line, 0, line.length, tailOffset);
        pos = nl + 1;
        tail = undefined;
      }
      const last = chunk.lastIndexOf(NEWLINE);
      if (last >= pos) {
        loader.lines(chunk, pos, last + 1, chunkOffset + pos);
        pos = last + 1;
      }
      if (pos < chunk.length) {
        tail = Buffer.from(chunk.subarray(pos)); // the chunk's buffer is reused for a later read
        tailOffset = chunkOffset + pos;
      }
      chunkOffset += chunk.length;
    }
    if (tail !== undefined) throw loader.bad('truncated file');
    return loader.finish();
  } finally {
    await handle.close();
  }
}

/** The file in chunks, reading the next one while the caller works on the current one (two buffers, reused). */
async function* readChunks(handle: FileHandle): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)] as const;
  let which = 0;
  let position = 0;
  let pending = handle.read(buffers[0], 0, READ_BYTES, position);
  try {
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) return;
      const chunk = buffers[which]!.subarray(0, bytesRead);
      position += bytesRead;
      which ^= 1;
      pending = handle.read(buffers[which]!, 0, READ_BYTES, position);
      yield chunk;
    }
  } finally {
    await pending.catch(() => {}); // never close the file under a read in flight
  }
}

/** Parses complete lines as they stream in, applying rows in batches. */
function createLoader(file: string, state: MemoryState) {
  const bad = (reason: string): StoreOpenError =>
    new StoreOpenError(`${file} is corrupt: ${reason}; restore from backup or move the file aside`);
  const hash = createHash('sha256');
  const counts = new Map<Collection, number>(COLLECTIONS.map((c) => [c, 0]));
  let phase: 'header' | 'rows' | 'done' = 'header';
  let seq = 0;
  let expectedRows = 0;
  let rows = 0;
  let checksum = '';
  let ops: StoreOp[] = [];

  function row(buf: Buffer, start: number, end: number, offset: number): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(buf.toString('utf8', start, end));
    } catch {
      throw bad(`unparsable record at byte offset ${offset}`);
    }
    if (!Array.isArray(parsed) || parsed.length !== 3 || !isCollection(parsed[0]) || typeof parsed[1] !== 'string') {
      throw bad(`invalid record at byte offset ${offset}`);
    }
    const collection = parsed[0];
    counts.set(collection, counts.get(collection)! + 1);
    ops.push({ kind: 'put', collection, id: parsed[1], value: freezeJson(parsed[2] as unknown) });
    // Applied in batches so a large snapshot never holds every op at once.
    if (ops.length >= APPLY_BATCH) {
      state.apply(ops);
      ops = [];
    }
    rows++;
  }

  /** The complete lines of buf[from, to), `to` just past a newline; `offset` is `from`'s place in the file. */
  function lines(buf: Buffer, from: number, to: number, offset: number): void {
    let runStart = from; // rows since here are not hashed yet
    for (let start = from; start < to; ) {
      const end = buf.indexOf(NEWLINE, start);
      if (phase === 'rows' && buf[start] !== OPEN_BRACE) {
        row(buf, start, end, offset + start - from);
      } else if (phase === 'header') {
        const header = HEADER.exec(buf.toString('utf8', start, end));
        if (header === null || !Number.isSafeInteger(Number(header[1]))) throw bad('unrecognised header');
        seq = Number(header[1]);
        expectedRows = Number(header[2]);
        phase = 'rows';
        runStart = end + 1;
      } else if (phase === 'rows') {
        const trailer = TRAILER.exec(buf.toString('utf8', start, end));
        if (trailer === null) throw bad('truncated file');
        hash.update(buf.subarray(runStart, start));
        checksum = trailer[1]!;
        phase = 'done';
      } else {
        throw bad(`unexpected data after the trailer at byte offset ${offset + start - from}`);
      }
      start = end + 1;
    }
    if (phase === 'rows') hash.update(buf.subarray(runStart, to));
  }

  function finish(): number {
    if (phase !== 'done') throw bad('truncated file');
    if (hash.digest('hex') !== checksum) throw bad('checksum mismatch');
    state.apply(ops);
    ops = [];
    if (rows !== expectedRows) throw bad(`expected ${expectedRows} records, found ${rows}`);
    for (const [collection, n] of counts) {
      if (state.view.count(collection) !== n) throw bad(`duplicate records in ${collection}`);
    }
    return seq;
  }

  return { lines, finish, bad };
}
