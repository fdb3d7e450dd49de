// Appends encoded records to journal.log with group commit, compacts the
// journal into snapshot.json when it grows too large, and recovers on its own
// from I/O errors.
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
// at the last appended seq) and resolves when the snapshot is durable. If the
// snapshot fails (EMFILE, ENOSPC) nothing is lost: the covered records go back
// in front of the next batch and are journaled as usual, and compaction is
// retried with backoff after a later flush. The store never stops for it.
//
// A failed journal write or fdatasync (disk full, EIO): the records of the
// failed batch and of every later one are not durable, so their transactions
// are rejected (StoreUnavailableError, errno code only, never record contents)
// and `recover` rolls memory back to what is on disk, reading the snapshot and
// the journal's known-good prefix; reads wait for that, then go on. Writes are
// refused until a probe succeeds: after a backoff (1 s doubling to 30 s by
// default) the probe cuts the journal back to its good prefix and appends an
// empty record with fdatasync. This is PostgreSQL's and etcd's rule: never
// acknowledge what is not durable, keep serving reads, recover without a
// restart. Only a failed rollback (the files cannot be read back) is final.
//
// Memory stays bounded: with "always" the batch holds at most the in-flight
// requests; with "none" a caller waits once the batch passes 8 MiB.
import { close as closeFd } from 'node:fs';
import type { JournalIo } from './journal-io.js';
import { encodeRecord } from './journal-record.js';
import { StoreUnavailableError, errnoCode } from './store-errors.js';
import type { SnapshotData } from './snapshot.js';
import { absorb, newBatch, type Batch } from './write-batch.js';

export { nodeJournalIo, type JournalIo } from './journal-io.js';

export interface JournalStats {
  /** Size of journal.log's known-good prefix (whole records written). */
  journalBytes: number;
  /** Batches written (each one write, plus one fdatasync with durability "always"). */
  flushes: number;
  /** Transaction records written to the journal since open. */
  records: number;
  compactions: number;
  /** Compactions that failed and will be retried. */
  compactionFailures: number;
  /** Journal writes or fsyncs that failed (each rolled back and recovered). */
  writeFailures: number;
}

export interface RetryDelays {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryDelays = { initialMs: 1000, maxMs: 30_000 };

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
  /** Roll memory back to the snapshot plus the journal's first `goodBytes`; resolves with the last seq there. */
  recover(goodBytes: number): Promise<number>;
  retry: RetryDelays;
  logger: { warn(msg: string): void; info?(msg: string): void };
}

export type WriterHealth = 'ok' | 'degraded' | 'failed';

export interface JournalWriter {
  /** The sequence number the next record must carry minus one. */
  lastSeq(): number;
  /** Queue a record; returns what the transaction must wait for before it resolves. */
  append(seq: number, line: string): Promise<void>;
  /** Resolves once everything appended so far is durable (immediately with "none"). */
  barrier(): Promise<void>;
  /** Resolves when no rollback is running (memory then holds only what is on disk or pending). */
  settled(): Promise<void>;
  /** Why writes are refused now (a failing disk, or a failed rollback), if they are. */
  writeRefusal(): StoreUnavailableError | undefined;
  /** Set only when memory could not be rolled back: reads must be refused too. */
  fatal(): StoreUnavailableError | undefined;
  health(): WriterHealth;
  stats(): JournalStats;
  /** Flush, fdatasync, close the fd. Rejects if anything appended could not be made durable. */
  close(): Promise<void>;
}

const NONE_PENDING_LIMIT = 8 * 1024 * 1024;
const RESOLVED = Promise.resolve();

export function createJournalWriter(options: JournalWriterOptions): JournalWriter {
  const { fd, io, durability, file, logger } = options;
  const stats: JournalStats = {
    journalBytes: options.journalBytes,
    flushes: 0,
    records: 0,
    compactions: 0,
    compactionFailures: 0,
    writeFailures: 0,
  };
  let current = newBatch();
  let lastBatch: Batch | undefined;
  let inflight: Batch | undefined;
  let lastSeq = options.lastSeq;
  let loop: Promise<void> | undefined;
  let failure: StoreUnavailableError | undefined;
  let fatal: StoreUnavailableError | undefined;
  let recovering: Promise<void> | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let writeDelay = options.retry.initialMs;
  let compactDelay = options.retry.initialMs;
  let compactRetryAt = 0;
  let closing: Promise<void> | undefined;

  function schedule(): void {
    if (loop === undefined) loop = new Promise<void>((resolve) => setImmediate(resolve)).then(runLoop);
  }

  async function runLoop(): Promise<void> {
    try {
      while (current.lines.length > 0 && failure === undefined && fatal === undefined) {
        const batch = (inflight = current);
        current = newBatch();
        let data: Buffer;
        try {
          data = Buffer.from(batch.lines.join(''), 'utf8');
          await writeAll(data);
          if (durability === 'always') await io.fdatasync(fd);
        } catch (err) {
          await writeFailed('write', err);
          break;
        }
        inflight = undefined;
        stats.journalBytes += data.length;
        stats.flushes++;
        stats.records += batch.lines.length;
        batch.resolve();
        if (stats.journalBytes >= options.compactAfterBytes && Date.now() >= compactRetryAt) await compact();
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
      inflight = undefined;
      // Never written anywhere: the covered records go back in front of what arrived meanwhile.
      const next = current;
      absorb(covered, next);
      if (lastBatch === next) lastBatch = covered;
      current = covered;
      compactionFailed(err);
      return;
    }
    inflight = undefined;
    covered.resolve();
    // Only now may the old records go: the snapshot that contains them is durable.
    try {
      await io.ftruncate(fd, 0);
    } catch (err) {
      compactionFailed(err); // the journal is intact, its records merely duplicate the snapshot
      return;
    }
    const before = stats.journalBytes;
    stats.journalBytes = 0;
    try {
      await io.fdatasync(fd);
    } catch (err) {
      await writeFailed('reset', err);
      return;
    }
    stats.compactions++;
    compactDelay = options.retry.initialMs;
    logger.info?.(`compacted ${file} (${before} bytes) into a snapshot at seq ${lastSeq} in ${Date.now() - started} ms`);
  }

  function compactionFailed(err: unknown): void {
    stats.compactionFailures++;
    compactRetryAt = Date.now() + compactDelay;
    logger.warn(`compacting ${file} failed (${errnoCode(err)}); the store keeps working and retries in ${compactDelay} ms`);
    compactDelay = Math.min(compactDelay * 2, options.retry.maxMs);
  }

  /** Reject everything not durable, roll memory back to the disk, and start probing. */
  async function writeFailed(step: string, err: unknown): Promise<void> {
    stats.writeFailures++;
    failure = new StoreUnavailableError(
      'failed',
      `journal ${step} failed on ${file} (${errnoCode(err)}); writes are refused until it works again (retrying in ${writeDelay} ms)`,
      { cause: err },
    );
    logger.warn(failure.message);
    const lost = [inflight, current];
    inflight = undefined;
    current = newBatch();
    lastBatch = undefined;
    recovering = options.recover(stats.journalBytes).then(
      (seq) => void (lastSeq = seq),
      (cause: unknown) => {
        fatal = new StoreUnavailableError(
          'failed',
          `cannot read ${file} back after a failed write (${errnoCode(cause)}); the store refuses everything until it is restarted`,
          { cause },
        );
        logger.warn(fatal.message);
      },
    );
    for (const batch of lost) batch?.reject(failure);
    await recovering;
    recovering = undefined;
    if (fatal === undefined && closing === undefined) scheduleProbe();
  }

  function scheduleProbe(): void {
    probeTimer = setTimeout(() => {
      probeTimer = undefined;
      loop ??= probe().finally(() => (loop = undefined));
    }, writeDelay);
    probeTimer.unref();
    writeDelay = Math.min(writeDelay * 2, options.retry.maxMs);
  }

  /** Cut the journal back to its good prefix and append an empty record durably: writes work again. */
  async function probe(): Promise<void> {
    if (closing !== undefined) return;
    const line = Buffer.from(encodeRecord(lastSeq + 1, []), 'utf8');
    try {
      await io.ftruncate(fd, stats.journalBytes);
      await io.fdatasync(fd);
      await writeAll(line);
      await io.fdatasync(fd);
    } catch (err) {
      logger.warn(`journal ${file} still fails (${errnoCode(err)}); writes stay refused, retrying in ${writeDelay} ms`);
      scheduleProbe();
      return;
    }
    lastSeq++;
    stats.journalBytes += line.length;
    failure = undefined;
    writeDelay = options.retry.initialMs;
    logger.warn(`journal ${file} accepts writes again`);
  }

  return {
    lastSeq: () => lastSeq,
    append(seq, line) {
      const refused = fatal ?? failure;
      if (refused !== undefined) return Promise.reject(refused);
      current.lines.push(line);
      current.chars += line.length;
      lastBatch = current;
      lastSeq = seq;
      schedule();
      if (durability === 'always' || current.chars > NONE_PENDING_LIMIT) return current.done;
      return RESOLVED;
    },
    barrier() {
      if (fatal !== undefined) return Promise.reject(fatal);
      // Whatever a caller saw before the rollback may be gone: it must look again once settled.
      if (recovering !== undefined) return Promise.reject(failure ?? new Error('rolling back'));
      return durability === 'always' && lastBatch !== undefined ? lastBatch.done : RESOLVED;
    },
    settled: () => recovering ?? RESOLVED,
    writeRefusal: () => fatal ?? failure,
    fatal: () => fatal,
    health: () => (fatal !== undefined ? 'failed' : failure !== undefined ? 'degraded' : 'ok'),
    stats: () => ({ ...stats }),
    close() {
      closing ??= (async () => {
        if (probeTimer !== undefined) clearTimeout(probeTimer);
        while (loop !== undefined) await loop;
        if (recovering !== undefined) await recovering;
        try {
          // Also with "none": a clean shutdown should leave everything on disk.
          if (failure === undefined && fatal === undefined) await io.fdatasync(fd);
        } catch (err) {
          failure = new StoreUnavailableError('failed', `journal fsync failed on ${file} (${errnoCode(err)}) while closing`, { cause: err });
          logger.warn(failure.message);
        }
        await new Promise<void>((resolve) => closeFd(fd, () => resolve()));
        const refused = fatal ?? failure;
        if (refused !== undefined) throw refused;
      })();
      return closing;
    },
  };
}
