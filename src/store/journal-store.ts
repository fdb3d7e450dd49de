// The embedded durable Store: all state in memory, every committed
// transaction appended as one record to a journal, periodically compacted
// into a snapshot.
//
// Data directory layout:
//   snapshot.json   the state as of some sequence number (format: snapshot.ts)
//   journal.log     one line per transaction after that (format: journal-record.ts)
//   townhall.lock   the pid of the process holding the directory's lock, for people (store-lock.ts)
//   snapshot.json.tmp, journal.log.tmp  only during compaction; removed at open
//
// Ordering: a transaction runs synchronously and is applied in memory at once,
// in call order, so the next transaction sees it even before it is durable.
// `transact` resolves when its record is durable (durability "always":
// written through an O_DSYNC fd, or written and fdatasync'ed where there is
// no O_DSYNC; "none": applied in memory). `read` waits until
// everything it could have seen is durable, so no client is shown data that a
// crash could take back.
//
// Recovery at open: load snapshot.json, replay journal.log records with a
// greater seq, drop a torn last record (no newline; with a warning, truncating the file),
// refuse anything else that is corrupt with a StoreOpenError. Any other
// failure to open (a full disk, permissions) is a one-line StoreOpenError too,
// and the lock is released before it is thrown.
//
// I/O errors while running (journal-writer.ts): a failed write rolls memory
// back to what is on disk (the same loading as at open), reads go on, writes
// answer StoreUnavailableError until a probe finds the disk writable again;
// a failed compaction is retried. `health()` says which.
//
// Safety: durability "none" answers once a record is written to the OS, so a
// crash of the process loses nothing answered; a crash of the machine may lose
// the last moments of writes. The journal is then usually repaired like a torn
// tail, but a file system that persisted pages out of order can leave damage
// that needs an operator.
import { readFile, mkdir, stat } from 'node:fs/promises';
import { close as closeCb, open as openCb } from 'node:fs';
import { join, resolve } from 'node:path';
import { encodeRecord, scanJournal, type JournalScan } from './journal-record.js';
import { journalAppend, nodeJournalIo, type JournalIo } from './journal-io.js';
import { createJournalWriter, DEFAULT_RETRY, type JournalStats, type RetryDelays, type WriterHealth } from './journal-writer.js';
import { createMemoryState, type MemoryState, type StoreOp } from './memory-state.js';
import { removeJournalTmp } from './journal-tail.js';
import { fsyncDir, removeSnapshotTmp, SNAPSHOT_FILE } from './snapshot.js';
import { captureSnapshot } from './state-capture.js';
import { readSnapshot } from './snapshot-reader.js';
import { acquireStoreLock } from './store-lock.js';
import { StoreOpenError, StoreUnavailableError, errnoCode } from './store-errors.js';
import type { ReadTx, Store, WriteTx } from './store.js';

export { StoreOpenError, StoreUnavailableError } from './store-errors.js';
export type { JournalIo } from './journal-io.js';
export type { JournalStats, RetryDelays, WriterHealth } from './journal-writer.js';

export const JOURNAL_FILE = 'journal.log';
// Every compaction rewrites the whole state, about 1 us of the event loop per
// record: with 64 MiB a town of 300k records rewrote two records per write,
// and its writes cost 4 us (12%) more than with 128 MiB. Start-up replays at
// most this or a quarter snapshot of journal (journal-compaction.ts), and a
// million-record town's quarter snapshot (141 MB) is already larger.
export const DEFAULT_COMPACT_AFTER_BYTES = 128 * 1024 * 1024;

export interface JournalStoreOptions {
  dir: string;
  durability: 'always' | 'none';
  /**
   * Compact once journal.log has grown by this many bytes past what the last compaction kept, and by
   * a quarter of the last snapshot's size (journal-compaction.ts, SNAPSHOT_SHARE). Default 128 MiB.
   */
  compactAfterBytes?: number;
  logger: { warn(msg: string): void; info?(msg: string): void };
  /** Replaces the journal's write/fdatasync/ftruncate and each compaction step (journal-io.ts); a test hook for fault injection. */
  io?: JournalIo;
  /** Backoff between write probes and compaction retries after an I/O error. Default 1 s doubling to 30 s. */
  retry?: RetryDelays;
}

export interface JournalStore extends Store {
  stats(): JournalStats;
  /** False while writes are refused (a failing disk, or closing): readiness reports it. */
  healthy(): boolean;
  /** 'degraded' while journal writes fail (reads still work), 'failed' if nothing works until a restart. */
  health(): WriterHealth;
}

export async function openJournalStore(options: JournalStoreOptions): Promise<JournalStore> {
  const { durability, logger } = options;
  const compactAfterBytes = options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES;
  // Programmer mistakes, not data problems: fail loudly at start-up.
  if (durability !== 'always' && durability !== 'none') throw new TypeError('durability must be "always" or "none"');
  if (!Number.isSafeInteger(compactAfterBytes) || compactAfterBytes < 1) {
    throw new TypeError('compactAfterBytes must be a positive integer');
  }
  const io = options.io ?? nodeJournalIo;
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw new StoreOpenError(`cannot create the data directory ${dir} (${errnoCode(err)})`, { cause: err });
  });

  const append = journalAppend(durability);
  const lock = await acquireStoreLock(dir, { logger });
  const file = join(dir, JOURNAL_FILE);
  let state: MemoryState;
  let fd: number | undefined;
  let seq: number;
  let journalBytes: number;
  let snapshotBytes: number;
  try {
    // Leftovers of a compaction a crash interrupted: nothing refers to them.
    await removeSnapshotTmp(dir);
    await removeJournalTmp(file);
    const loaded = await loadState(dir, file, (buf) => buf);
    state = loaded.state;
    fd = await openAppend(file, append.flags);
    journalBytes = await repairJournal(loaded.scan, fd, io, file, logger);
    // journal.log (and the lock) may have just been created: make their directory entries durable.
    await fsyncDir(dir);
    seq = loaded.seq;
    snapshotBytes = await sizeOf(join(dir, SNAPSHOT_FILE));
  } catch (err) {
    if (fd !== undefined) await closeQuietly(fd);
    await lock.release();
    if (err instanceof StoreOpenError) throw err;
    throw new StoreOpenError(`cannot open the data directory ${dir} (${errnoCode(err)})`, { cause: err });
  }

  /** Added to the state's own counter so version() never repeats after a rollback swaps the state. */
  let versionBase = 0;
  const writer = createJournalWriter({
    fd,
    dir,
    file,
    io,
    durability,
    append,
    journalBytes,
    lastSeq: seq,
    compactAfterBytes,
    snapshotBytes,
    capture: (at) => captureSnapshot(at, state),
    async recover(goodBytes) {
      // Memory is ahead of the disk by the failed records: rebuild it from what is durable.
      const loaded = await loadState(dir, file, (buf) => buf.subarray(0, goodBytes));
      versionBase += state.version + 1;
      state = loaded.state;
      return loaded.seq;
    },
    retry: options.retry ?? DEFAULT_RETRY,
    logger,
  });
  let closing: Promise<void> | undefined;
  const closed = (): StoreUnavailableError => new StoreUnavailableError('closed', 'the store is closed');

  function read<T>(fn: (tx: ReadTx) => T): Promise<T> {
    if (closing !== undefined) return Promise.reject(closed());
    const fatal = writer.fatal();
    if (fatal !== undefined) return Promise.reject(fatal);
    let result: T;
    try {
      result = fn(state.view);
    } catch (err) {
      return Promise.reject(err);
    }
    // If what this view saw fails to reach the disk, memory is rolled back: look again then.
    return writer.barrier().then(
      () => result,
      () => writer.settled().then(() => read(fn)),
    );
  }

  return {
    transact<T>(fn: (tx: WriteTx) => T): Promise<T> {
      const refused = closing !== undefined ? closed() : writer.writeRefusal();
      if (refused !== undefined) return Promise.reject(refused);
      let outcome: { result: T; ops: StoreOp[] };
      try {
        outcome = state.run(fn);
      } catch (err) {
        return Promise.reject(err);
      }
      const { result, ops } = outcome;
      // Nothing written: behave like a read, waiting for what it saw to be durable.
      if (ops.length === 0) return writer.barrier().then(() => result);
      // Encode before taking the number: a record that cannot be encoded (too
      // large) must fail this transaction alone, not leave a gap in the journal.
      const next = writer.lastSeq() + 1;
      const line = encodeRecord(next, ops);
      state.apply(ops);
      return writer.append(next, line).then(() => result);
    },
    read,
    stats: () => writer.stats(),
    healthy: () => closing === undefined && writer.writeRefusal() === undefined,
    health: () => writer.health(),
    version: () => versionBase + state.version,
    close(): Promise<void> {
      closing ??= writer.close().finally(() => lock.release());
      return closing;
    },
  };
}

/** The snapshot plus the (possibly cut) journal, in a fresh memory state. */
async function loadState(
  dir: string,
  file: string,
  cut: (journal: Buffer) => Buffer,
): Promise<{ state: MemoryState; scan: JournalScan; seq: number }> {
  const state = createMemoryState();
  const snapshotSeq = await readSnapshot(dir, state).catch(wrap(join(dir, 'snapshot.json')));
  const scan = scanJournal(cut(await readJournal(file)), snapshotSeq, file, (ops) => state.apply(ops));
  return { state, scan, seq: Math.max(snapshotSeq, scan.lastSeq) };
}

async function readJournal(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return Buffer.alloc(0);
    throw new StoreOpenError(`cannot read ${file} (${errnoCode(err)})`, { cause: err });
  }
}

/** Cut a torn tail, or reset a journal the snapshot fully covers; returns the resulting size. */
async function repairJournal(
  scan: JournalScan,
  fd: number,
  io: JournalIo,
  file: string,
  logger: JournalStoreOptions['logger'],
): Promise<number> {
  let size = scan.validBytes;
  if (scan.torn !== undefined) {
    const { offset, record, reason } = scan.torn;
    logger.warn(
      `${file}: dropped a torn last record at byte offset ${offset} (record ${record}: ${reason}), left by an interrupted write; truncating to ${offset} bytes`,
    );
  }
  if (scan.applied === 0 && scan.stale > 0) {
    // A crash after a snapshot was renamed into place but before the journal was reset.
    logger.info?.(`${file}: every record is already in snapshot.json; starting a fresh journal`);
    size = 0;
  }
  if (scan.torn !== undefined || size !== scan.validBytes) {
    // Durable before any append: otherwise a second crash could resurrect the garbage mid-file.
    await io.ftruncate(fd, size);
    await io.fdatasync(fd);
  }
  return size;
}

function openAppend(file: string, flags: number): Promise<number> {
  return new Promise((resolvePromise, reject) =>
    openCb(file, flags, 0o600, (err, fd) =>
      err ? reject(new StoreOpenError(`cannot open ${file} (${errnoCode(err)})`, { cause: err })) : resolvePromise(fd),
    ),
  );
}

/** A file's size, 0 when it does not exist. */
async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 0;
    throw err;
  }
}

function closeQuietly(fd: number): Promise<void> {
  return new Promise((resolvePromise) => closeCb(fd, () => resolvePromise()));
}

function wrap(file: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof StoreOpenError) throw err;
    throw new StoreOpenError(`cannot read ${file} (${errnoCode(err)})`, { cause: err });
  };
}
