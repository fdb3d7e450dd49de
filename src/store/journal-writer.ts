// Appends encoded records to journal.log with group commit, and compacts the
// journal into snapshot.json when it grows too large.
//
// Group commit: records accumulate in the current batch. One flush loop runs
// at a time; it takes the whole batch, writes it with one write(2) and (with
// durability "always") one fdatasync(2), then resolves every transaction in
// the batch at once. Records arriving meanwhile form the next batch, so under
// load each fsync covers many transactions. The loop starts on setImmediate so
// requests handled in the same event-loop turn share the first flush too.
//
// Compaction runs inside the same loop, between flushes, so no journal write
// is ever in flight while the journal is reset. The not-yet-written batch is
// covered by the snapshot (captured synchronously, so it is exactly the state
// at the last appended seq) and resolves when the snapshot is durable; records
// arriving during compaction form a new batch that goes to the fresh journal.
//
// Safety: a failed write, fsync, snapshot or truncate rejects every waiting
// transaction and every later call with a StoreUnavailableError (errno code
// only, never record contents) and the writer accepts nothing more: after a
// partial write the file's tail is unknown, and only recovery at open can
// repair it. Memory stays bounded: with "always" the batch holds at most the
// in-flight requests; with "none" a caller waits once the batch passes 8 MiB.
import { close as closeFd, fdatasync, ftruncate, write } from 'node:fs';
import { StoreUnavailableError, errnoCode } from './store-errors.js';
import type { SnapshotData } from './snapshot.js';

/** The file operations the writer uses; replaceable in tests to inject faults. */
export interface JournalIo {
  /** Write from `data` at the end of the file (the fd is O_APPEND); returns bytes written. */
  write(fd: number, data: Buffer, offset: number, length: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
}

export const nodeJournalIo: JournalIo = {
  write: (fd, data, offset, length) =>
    new Promise((resolve, reject) => write(fd, data, offset, length, null, (err, n) => (err ? reject(err) : resolve(n)))),
  fdatasync: (fd) => new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  ftruncate: (fd, length) => new Promise((resolve, reject) => ftruncate(fd, length, (err) => (err ? reject(err) : resolve()))),
};

export interface JournalStats {
  /** Current size of journal.log. */
  journalBytes: number;
  /** Batches written (each one write, plus one fdatasync with durability "always"). */
  flushes: number;
  /** Transaction records written to the journal since open. */
  records: number;
  compactions: number;
}

export interface JournalWriterOptions {
  fd: number;
  file: string;
  io: JournalIo;
  durability: 'always' | 'none';
  journalBytes: number;
  /** The last sequence number already on disk (snapshot or journal). */
  lastSeq: number;
  compactAfterBytes: number;
  /** Serialise the state as of `seq` synchronously, then persist it crash-safely. */
  snapshot: { capture(seq: number): SnapshotData; persist(data: SnapshotData): Promise<void> };
  logger: { warn(msg: string): void; info?(msg: string): void };
}

export interface JournalWriter {
  /** Queue a record; returns what the transaction must wait for before it resolves. */
  append(seq: number, line: string): Promise<void>;
  /** Resolves once everything appended so far is durable (immediately with "none"). */
  barrier(): Promise<void>;
  /** Set once a write failed; the store must refuse everything after that. */
  failure(): StoreUnavailableError | undefined;
  stats(): JournalStats;
  /** Flush, fdatasync, close the fd. Rejects if anything appended could not be made durable. */
  close(): Promise<void>;
}

interface Batch {
  lines: string[];
  chars: number;
  done: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

const NONE_PENDING_LIMIT = 8 * 1024 * 1024;
const RESOLVED = Promise.resolve();

export function createJournalWriter(options: JournalWriterOptions): JournalWriter {
  const { fd, io, durability } = options;
  const stats: JournalStats = { journalBytes: options.journalBytes, flushes: 0, records: 0, compactions: 0 };
  let current = newBatch();
  let lastBatch: Batch | undefined;
  let inflight: Batch | undefined;
  let lastSeq = options.lastSeq;
  let loop: Promise<void> | undefined;
  let failed: StoreUnavailableError | undefined;
  let closing: Promise<void> | undefined;

  function schedule(): void {
    if (loop === undefined) loop = new Promise<void>((resolve) => setImmediate(resolve)).then(runLoop);
  }

  async function runLoop(): Promise<void> {
    try {
      while (current.lines.length > 0 && failed === undefined) {
        const batch = (inflight = current);
        current = newBatch();
        let data: Buffer;
        try {
          data = Buffer.from(batch.lines.join(''), 'utf8');
          await writeAll(data);
          if (durability === 'always') await io.fdatasync(fd);
        } catch (err) {
          fail('write', err);
          break;
        }
        inflight = undefined;
        stats.journalBytes += data.length;
        stats.flushes++;
        stats.records += batch.lines.length;
        batch.resolve();
        if (stats.journalBytes >= options.compactAfterBytes) await compact();
      }
    } finally {
      loop = undefined;
    }
  }

  async function writeAll(data: Buffer): Promise<void> {
    for (let offset = 0; offset < data.length; ) {
      const n = await io.write(fd, data, offset, data.length - offset);
      if (n <= 0) throw new Error('write returned no progress');
      offset += n;
    }
  }

  async function compact(): Promise<void> {
    const covered = (inflight = current);
    current = newBatch();
    const started = Date.now();
    try {
      await options.snapshot.persist(options.snapshot.capture(lastSeq));
    } catch (err) {
      fail('snapshot', err);
      return;
    }
    inflight = undefined;
    covered.resolve();
    try {
      // Only now may the old records go: the snapshot that contains them is durable.
      await io.ftruncate(fd, 0);
      await io.fdatasync(fd);
    } catch (err) {
      fail('reset', err);
      return;
    }
    const before = stats.journalBytes;
    stats.journalBytes = 0;
    stats.compactions++;
    options.logger.info?.(`compacted ${options.file} (${before} bytes) into a snapshot at seq ${lastSeq} in ${Date.now() - started} ms`);
  }

  function fail(step: string, err: unknown): void {
    if (failed !== undefined) return;
    failed = new StoreUnavailableError(
      'failed',
      `journal ${step} failed on ${options.file} (${errnoCode(err)}); the store refuses further writes until it is restarted`,
      { cause: err },
    );
    options.logger.warn(failed.message);
    inflight?.reject(failed);
    current.reject(failed);
  }

  return {
    append(seq, line) {
      current.lines.push(line);
      current.chars += line.length;
      lastBatch = current;
      lastSeq = seq;
      schedule();
      if (durability === 'always' || current.chars > NONE_PENDING_LIMIT) return current.done;
      return RESOLVED;
    },
    barrier() {
      if (failed !== undefined) return Promise.reject(failed);
      return durability === 'always' && lastBatch !== undefined ? lastBatch.done : RESOLVED;
    },
    failure: () => failed,
    stats: () => ({ ...stats }),
    close() {
      closing ??= (async () => {
        while (loop !== undefined) await loop;
        try {
          // Also with "none": a clean shutdown should leave everything on disk.
          if (failed === undefined) await io.fdatasync(fd);
        } catch (err) {
          fail('fsync', err);
        }
        await new Promise<void>((resolve) => closeFd(fd, () => resolve()));
        if (failed !== undefined) throw failed;
      })();
      return closing;
    },
  };
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting (durability "none"); the failure is reported through later calls instead.
  done.catch(() => {});
  return { lines: [], chars: 0, done, resolve, reject };
}
