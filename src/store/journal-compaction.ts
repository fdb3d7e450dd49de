// Compaction of journal.log into snapshot.json without stopping the event
// loop or the writes. The journal writer (journal-writer.ts) drives it from
// its flush loop, so no journal write is ever in flight while files change:
//
//   1. start (between flushes, synchronous, a list of generations):
//      capture the state at the last appended seq S (state-capture.ts: each
//      generation copied when the walk reaches it, or just before a write
//      changes it). Records up to S may still be waiting in the
//      current batch; the next flush writes them, and the journal size after
//      the record S is the cut.
//   2. background: write and fsync snapshot.json.tmp in slices. Flushes go on.
//   3. finish (between flushes): rename the snapshot into place, copy the
//      journal's bytes after the cut (what was written during step 2) into
//      journal.log.tmp, fdatasync, rename it over journal.log, swap the fd,
//      fsync the directory.
//
// Crash safety at every step: before the snapshot rename, the old snapshot and
// the whole journal are in place; after it, the journal still holds every
// record (those up to S are skipped at replay by sequence number); after the
// journal rename, the new journal starts exactly at S+1. Leftover .tmp files
// are removed at open.
//
// Failure handling: a failed step 2, 3 or 4 changes nothing that matters (the
// journal keeps every record), is counted, logged, and retried with backoff
// (1 s doubling to 30 s) after a later flush. If a journal write failed after
// the capture, memory was rolled back and the snapshot may hold records that
// were never durable and whose transactions were rejected: it is discarded,
// never installed. A failed directory fsync after the journal rename (step 5)
// is a journal failure: the writer refuses writes and its probe fsyncs the
// directory before anything is acknowledged again.
import type { JournalIo } from './journal-io.js';
import type { RetryDelays } from './journal-writer.js';
import { removeSnapshotTmp } from './snapshot.js';
import type { SnapshotSource } from './state-capture.js';
import { errnoCode } from './store-errors.js';

export interface CompactorOptions {
  dir: string;
  file: string;
  io: JournalIo;
  /** How the new journal.log is opened (journalAppend in journal-io.ts). */
  appendFlags: number;
  compactAfterBytes: number;
  /** Size of snapshot.json when the store opened (0 when there is none). */
  snapshotBytes: number;
  capture(seq: number): SnapshotSource;
  /** Called when the background write has settled: the loop should run `finish`. */
  wake(): void;
  retry: RetryDelays;
  logger: { warn(msg: string): void; info?(msg: string): void };
}

/** What `finish` did; with a new fd the writer must switch to it (and close the old one). */
export type FinishOutcome =
  | { kind: 'none' }
  | { kind: 'swapped'; fd: number; journalBytes: number }
  | { kind: 'unsynced'; fd: number; journalBytes: number; error: unknown };

export interface Compactor {
  /** Start a compaction if the journal is large enough, none runs and no backoff is pending. */
  maybeStart(journalBytes: number, lastSeq: number, flushedSeq: number): void;
  /** A flush wrote every record up to `seq`; the journal is now `journalBytes` long. */
  flushed(seq: number, journalBytes: number): void;
  /** Memory was rolled back: what is being written must never be installed. */
  invalidate(): void;
  /** True when step 2 has settled and `finish` should run (before the next flush). */
  ready(): boolean;
  /** Resolves when no background write is running. */
  idle(): Promise<void>;
  /** Steps 3 to 5, between flushes; `journalBytes` is the journal's current size. */
  finish(journalBytes: number): Promise<FinishOutcome>;
  counts(): { compactions: number; compactionFailures: number };
}

interface Running {
  seq: number;
  started: number;
  valid: boolean;
  /** Journal size just after record `seq`: the new journal starts there. */
  cut?: number;
  outcome?: { error?: unknown; bytes?: number };
  written: Promise<void>;
}

/**
 * A compaction rewrites the whole state, so the journal must also have grown
 * by this share of the last snapshot's size. With the fixed threshold alone,
 * the scale bench's million-record town (a 564 MB snapshot) was rewritten
 * every 64 MiB of journal, 9 snapshot bytes per byte written, and under
 * steady writes the next compaction began as soon as one ended. With the
 * share, a journal byte costs at most 4 snapshot bytes at any size, and
 * start-up replays at most a quarter snapshot's worth of journal: at a million
 * records 221 MB of journal took 4.8 s to replay beside the snapshot's 4.5 s,
 * so a larger share would break the 10 s start-up. Redis's AOF rewrite works
 * alike (auto-aof-rewrite-percentage over auto-aof-rewrite-min-size).
 */
export const SNAPSHOT_SHARE = 0.25;

export function createCompactor(options: CompactorOptions): Compactor {
  const { io, dir, file, logger } = options;
  let running: Running | undefined;
  let compactions = 0;
  let compactionFailures = 0;
  let delay = options.retry.initialMs;
  let retryAt = 0;
  /**
   * Journal bytes kept by the last compaction (written while it ran). A new one starts once the
   * journal has grown by compactAfterBytes past them, so heavy writes with a small threshold never
   * keep a compaction running back to back.
   */
  let kept = 0;
  /** Size of the last snapshot installed (or found at open). */
  let snapshotBytes = options.snapshotBytes;

  function failed(err: unknown): FinishOutcome {
    compactionFailures++;
    retryAt = Date.now() + delay;
    logger.warn(`compacting ${file} failed (${errnoCode(err)}); the store keeps working and retries in ${delay} ms`);
    delay = Math.min(delay * 2, options.retry.maxMs);
    return { kind: 'none' };
  }

  return {
    maybeStart(journalBytes, lastSeq, flushedSeq) {
      const due = Math.max(options.compactAfterBytes, Math.floor(snapshotBytes * SNAPSHOT_SHARE));
      if (running !== undefined || journalBytes - kept < due || Date.now() < retryAt) return;
      let source: SnapshotSource;
      try {
        source = options.capture(lastSeq);
      } catch (err) {
        failed(err); // e.g. out of memory for the copies: never let it escape into the flush loop
        return;
      }
      const r: Running = { seq: lastSeq, started: Date.now(), valid: true, written: Promise.resolve() };
      if (flushedSeq === lastSeq) r.cut = journalBytes;
      // The walk releases the capture; this covers a write that failed before walking.
      r.written = io.writeSnapshot(dir, source).finally(source.release).then(
        (bytes) => void (r.outcome = { bytes }),
        (error: unknown) => void (r.outcome = { error }),
      );
      void r.written.then(options.wake);
      running = r;
    },
    flushed(seq, journalBytes) {
      // Batches are taken whole, and the first one after the capture ends exactly at S.
      if (running === undefined || running.cut !== undefined) return;
      if (seq === running.seq) running.cut = journalBytes;
      else if (seq > running.seq) running.valid = false; // no cut to be found: discard rather than guess
    },
    invalidate() {
      if (running !== undefined) running.valid = false;
    },
    // Finishing needs the cut, i.e. the records up to S written (or a reason to discard).
    ready: () => running?.outcome !== undefined && (running.cut !== undefined || !running.valid || running.outcome.error !== undefined),
    idle: () => running?.written ?? Promise.resolve(),
    async finish(journalBytes) {
      const r = running;
      if (r?.outcome === undefined) return { kind: 'none' };
      running = undefined;
      if (r.outcome.error !== undefined) return failed(r.outcome.error);
      if (!r.valid || r.cut === undefined) {
        // Memory was rolled back after the capture: that snapshot may hold rejected transactions.
        await removeSnapshotTmp(dir);
        return { kind: 'none' };
      }
      try {
        await io.installSnapshot(dir);
        snapshotBytes = r.outcome.bytes ?? snapshotBytes;
        await io.copyJournalTail(file, r.cut, journalBytes);
      } catch (err) {
        return failed(err); // the journal is intact; its records up to the snapshot's seq are skipped at replay
      }
      let fd: number;
      try {
        fd = await io.installJournal(file, options.appendFlags);
      } catch (err) {
        return failed(err);
      }
      kept = journalBytes - r.cut;
      try {
        await io.syncDir(dir);
      } catch (error) {
        return { kind: 'unsynced', fd, journalBytes: kept, error };
      }
      compactions++;
      delay = options.retry.initialMs;
      logger.info?.(
        `compacted ${file} (${journalBytes} bytes) into a snapshot at seq ${r.seq} in ${Date.now() - r.started} ms; ${kept} bytes written meanwhile stay in the journal`,
      );
      return { kind: 'swapped', fd, journalBytes: kept };
    },
    counts: () => ({ compactions, compactionFailures }),
  };
}
