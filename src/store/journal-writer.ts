// Appends encoded records to journal.log with group commit, compacts the
// journal into snapshot.json when it grows too large, and recovers on its own
// from I/O errors.
//
// Group commit: records accumulate in the current batch. One flush loop runs
// at a time; it takes the whole batch, writes it with one write(2), durable
// when it returns with durability "always" (the fd is O_DSYNC, see
// journalAppend in journal-io.ts; fdatasync(2) after it where there is no
// O_DSYNC), then resolves every transaction in the batch at once. Records
// arriving meanwhile form the next batch, so under load each fsync covers many
// transactions.
//
// When an idle loop starts depends on which side is slow (startsAtOnce):
// - "always": the disk. The loop starts right after the first record's
//   transaction (a microtask), so the disk works while the rest of the turn's
//   requests are handled. Started on setImmediate instead, it waited for the
//   whole turn (a wave of ~30 requests, ~0.9 ms) with the disk idle, then the
//   wave waited for the disk with the CPU idle: measured at 64 connections,
//   31% of flushes started that way, and the event loop was idle 11% of the time.
// - "none": the CPU. The write is quick, so the loop starts on setImmediate
//   and the whole turn shares one write and one wave of answers; started at
//   once, it made twice the flushes and cost ~4% more CPU per write.
//
// Durability "none" waits for the same write(2), just not for the disk (as
// Redis's appendfsync no writes before it replies): an answered transaction
// survives a crash of the process, not of the machine. Answering before the
// write also answered each request alone, and that was slower: writing 30
// answers at once to a busy client costs less than waking it 30 times.
//
// Compaction (journal-compaction.ts explains its steps) starts between
// flushes once the journal passes compactAfterBytes and a quarter of the
// last snapshot's size (SNAPSHOT_SHARE): the state is captured at
// the last appended seq S in one cheap synchronous step, and snapshot.json.tmp
// is written in the background in slices, while flushes go on as usual. When
// it is written, the loop (between flushes again) renames it into place and
// replaces journal.log by the records after S. If any step fails (EMFILE,
// ENOSPC) nothing is lost: the journal still holds every record, and
// compaction is retried with backoff after a later flush. The store never
// stops for it.
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
// Memory stays bounded: the batch holds at most the in-flight requests.
import { close as closeFd } from 'node:fs';
import { probeJournal, writeFully, type JournalIo } from './journal-io.js';
import { encodeRecord } from './journal-record.js';
import { StoreUnavailableError, errnoCode } from './store-errors.js';
import { createCompactor } from './journal-compaction.js';
import type { SnapshotSource } from './state-capture.js';
import { newBatch, type Batch } from './write-batch.js';

export { nodeJournalIo, type JournalIo } from './journal-io.js';

export interface JournalStats {
  /** Size of journal.log's known-good prefix (whole records written). */
  journalBytes: number;
  /** Batches written (each one write(2), durable with durability "always"). */
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
  /** The data directory and journal.log in it. */
  dir: string;
  file: string;
  io: JournalIo;
  durability: 'always' | 'none';
  /** How journal.log is opened (journalAppend): `synced` means each write is durable on its own. */
  append: { flags: number; synced: boolean };
  journalBytes: number;
  /** The last sequence number already on disk (snapshot or journal). */
  lastSeq: number;
  compactAfterBytes: number;
  /** Size of snapshot.json at open (0 when none): compaction also waits for a share of it (journal-compaction.ts). */
  snapshotBytes: number;
  /** The state as of `seq`, captured synchronously (snapshot.ts). */
  capture(seq: number): SnapshotSource;
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
  /** Resolves once everything appended so far is written (durable with "always"). */
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

const RESOLVED = Promise.resolve();

export function createJournalWriter(options: JournalWriterOptions): JournalWriter {
  const { io, durability, file, logger } = options;
  let fd = options.fd;
  const stats = { journalBytes: options.journalBytes, flushes: 0, records: 0, writeFailures: 0 };
  let current = newBatch();
  let lastBatch: Batch | undefined;
  let inflight: Batch | undefined;
  let lastSeq = options.lastSeq;
  /** The last seq written to the journal (not necessarily fdatasynced with "none"). */
  let flushedSeq = options.lastSeq;
  let loop: Promise<void> | undefined;
  let failure: StoreUnavailableError | undefined;
  let fatal: StoreUnavailableError | undefined;
  let recovering: Promise<void> | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let writeDelay = options.retry.initialMs;
  let closing: Promise<void> | undefined;
  const compactor = createCompactor({
    dir: options.dir,
    file,
    io,
    appendFlags: options.append.flags,
    compactAfterBytes: options.compactAfterBytes,
    snapshotBytes: options.snapshotBytes,
    capture: options.capture,
    // The snapshot is written: finish it between flushes (close finishes it itself).
    wake: () => {
      if (failure === undefined && closing === undefined) schedule();
    },
    retry: options.retry,
    logger,
  });

  const startsAtOnce = durability === 'always';
  function schedule(): void {
    if (loop !== undefined) return;
    loop = (startsAtOnce ? RESOLVED : new Promise<void>((resolve) => setImmediate(resolve))).then(runLoop);
  }

  async function runLoop(): Promise<void> {
    try {
      while (fatal === undefined) {
        // A written snapshot goes first: under steady writes the batch is never empty between flushes.
        if (compactor.ready()) await finishCompaction();
        else if (failure === undefined && current.lines.length > 0) await flush();
        else break;
        if (failure === undefined && closing === undefined) compactor.maybeStart(stats.journalBytes, lastSeq, flushedSeq);
      }
    } finally {
      loop = undefined;
    }
  }

  async function flush(): Promise<void> {
    const batch = (inflight = current);
    const batchEnd = lastSeq;
    current = newBatch();
    let data: Buffer;
    try {
      data = Buffer.from(batch.lines.join(''), 'utf8');
      await writeFully(io, fd, data);
      if (durability === 'always' && !options.append.synced) await io.fdatasync(fd);
    } catch (err) {
      await writeFailed('write', err);
      return;
    }
    inflight = undefined;
    stats.journalBytes += data.length;
    stats.flushes++;
    stats.records += batch.lines.length;
    flushedSeq = batchEnd;
    compactor.flushed(batchEnd, stats.journalBytes);
    batch.resolve();
  }

  async function finishCompaction(): Promise<void> {
    const outcome = await compactor.finish(stats.journalBytes);
    if (outcome.kind === 'none') return;
    const old = fd;
    fd = outcome.fd;
    stats.journalBytes = outcome.journalBytes;
    closeFd(old, () => {});
    // The new journal's name may not be durable: nothing may be acknowledged from it until a probe fsyncs the directory.
    if (outcome.kind === 'unsynced') await writeFailed('directory fsync', outcome.error);
  }

  /** Reject everything not durable, roll memory back to the disk, and start probing. */
  async function writeFailed(step: string, err: unknown): Promise<void> {
    stats.writeFailures++;
    compactor.invalidate();
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
      runProbe();
    }, writeDelay);
    probeTimer.unref();
    writeDelay = Math.min(writeDelay * 2, options.retry.maxMs);
  }

  /** The probe takes the loop's place; if the loop is busy (discarding a compaction), right after it. */
  function runProbe(): void {
    if (loop !== undefined) {
      void loop.then(runProbe);
      return;
    }
    loop = probe().finally(() => (loop = undefined));
  }

  /** Cut the journal back to its good prefix and append an empty record durably: writes work again. */
  async function probe(): Promise<void> {
    if (closing !== undefined) return;
    const line = Buffer.from(encodeRecord(lastSeq + 1, []), 'utf8');
    try {
      await probeJournal(io, options.dir, fd, stats.journalBytes, line);
    } catch (err) {
      logger.warn(`journal ${file} still fails (${errnoCode(err)}); writes stay refused, retrying in ${writeDelay} ms`);
      scheduleProbe();
      return;
    }
    lastSeq++;
    flushedSeq = lastSeq;
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
      lastBatch = current;
      lastSeq = seq;
      schedule();
      return current.done;
    },
    barrier() {
      if (fatal !== undefined) return Promise.reject(fatal);
      // Whatever a caller saw before the rollback may be gone: it must look again once settled.
      if (recovering !== undefined) return Promise.reject(failure ?? new Error('rolling back'));
      return lastBatch !== undefined ? lastBatch.done : RESOLVED;
    },
    settled: () => recovering ?? RESOLVED,
    writeRefusal: () => fatal ?? failure,
    fatal: () => fatal,
    health: () => (fatal !== undefined ? 'failed' : failure !== undefined ? 'degraded' : 'ok'),
    stats: () => ({ ...stats, ...compactor.counts() }),
    close() {
      closing ??= (async () => {
        if (probeTimer !== undefined) clearTimeout(probeTimer);
        while (loop !== undefined) await loop;
        if (recovering !== undefined) await recovering;
        // A compaction in progress is finished (or discarded), so a clean shutdown leaves no .tmp files.
        await compactor.idle();
        while (loop !== undefined) await loop;
        if (fatal === undefined && compactor.ready()) await finishCompaction();
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
