// The embedded durable Store: all state in memory, every committed
// transaction appended as one record to a journal, periodically compacted
// into a snapshot.
//
// Data directory layout:
//   snapshot.json   the state as of some sequence number (format: snapshot.ts)
//   journal.log     one line per transaction after that (format: journal-record.ts)
//   townhall.lock   the pid of the process holding the directory's lock, for people (store-lock.ts)
//   snapshot.json.tmp  only during compaction; removed at open
//
// Ordering: a transaction runs synchronously and is applied in memory at once,
// in call order, so the next transaction sees it even before it is durable.
// `transact` resolves when its record is durable (durability "always":
// written and fdatasync'ed; "none": applied in memory). `read` waits until
// everything it could have seen is durable, so no client is shown data that a
// crash could take back.
//
// Recovery at open: load snapshot.json, replay journal.log records with a
// greater seq, drop a torn last record (no newline; with a warning, truncating the file),
// refuse anything else that is corrupt with a StoreOpenError.
//
// Safety: durability "none" may lose the last moments of writes in a crash;
// the journal is then usually repaired like a torn tail, but a file system
// that persisted pages out of order can leave damage that needs an operator.
import { readFile, mkdir } from 'node:fs/promises';
import { close as closeCb, open as openCb } from 'node:fs';
import { join, resolve } from 'node:path';
import { encodeRecord, scanJournal, type JournalScan } from './journal-record.js';
import { createJournalWriter, nodeJournalIo, type JournalIo, type JournalStats } from './journal-writer.js';
import { createMemoryState, type StoreOp } from './memory-state.js';
import { captureSnapshot, fsyncDir, readSnapshot, writeSnapshot } from './snapshot.js';
import { acquireStoreLock } from './store-lock.js';
import { StoreOpenError, StoreUnavailableError, errnoCode } from './store-errors.js';
import type { ReadTx, Store, WriteTx } from './store.js';

export { StoreOpenError, StoreUnavailableError } from './store-errors.js';
export type { JournalIo, JournalStats } from './journal-writer.js';

export const JOURNAL_FILE = 'journal.log';
export const DEFAULT_COMPACT_AFTER_BYTES = 64 * 1024 * 1024;

export interface JournalStoreOptions {
  dir: string;
  durability: 'always' | 'none';
  /** Compact once journal.log reaches this many bytes. Default 64 MiB. */
  compactAfterBytes?: number;
  logger: { warn(msg: string): void; info?(msg: string): void };
  /** Replaces the journal's write/fdatasync/ftruncate; a test hook for fault injection. */
  io?: JournalIo;
}

export interface JournalStore extends Store {
  stats(): JournalStats;
  /** False once a write failed or the store is closing: readiness reports it. */
  healthy(): boolean;
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

  const lock = await acquireStoreLock(dir, { logger });
  const state = createMemoryState();
  const file = join(dir, JOURNAL_FILE);
  let fd: number | undefined;
  let seq: number;
  let journalBytes: number;
  try {
    const snapshotSeq = await readSnapshot(dir, (ops) => state.apply(ops)).catch(wrap(join(dir, 'snapshot.json')));
    const scan = scanJournal(await readJournal(file), snapshotSeq, file, (ops) => state.apply(ops));
    fd = await openAppend(file);
    journalBytes = await repairJournal(scan, fd, io, file, logger);
    // journal.log (and the lock) may have just been created: make their directory entries durable.
    await fsyncDir(dir);
    seq = Math.max(snapshotSeq, scan.lastSeq);
  } catch (err) {
    if (fd !== undefined) await closeQuietly(fd);
    await lock.release();
    throw err;
  }

  const writer = createJournalWriter({
    fd,
    file,
    io,
    durability,
    journalBytes,
    lastSeq: seq,
    compactAfterBytes,
    snapshot: { capture: (at) => captureSnapshot(at, state), persist: (data) => writeSnapshot(dir, data) },
    logger,
  });
  let closing: Promise<void> | undefined;

  function refusal(): Error | undefined {
    if (closing !== undefined) return new StoreUnavailableError('closed', 'the store is closed');
    return writer.failure();
  }

  return {
    transact<T>(fn: (tx: WriteTx) => T): Promise<T> {
      const refused = refusal();
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
      const line = encodeRecord(seq + 1, ops);
      seq++;
      state.apply(ops);
      return writer.append(seq, line).then(() => result);
    },
    read<T>(fn: (tx: ReadTx) => T): Promise<T> {
      const refused = refusal();
      if (refused !== undefined) return Promise.reject(refused);
      let result: T;
      try {
        result = fn(state.view);
      } catch (err) {
        return Promise.reject(err);
      }
      return writer.barrier().then(() => result);
    },
    stats: () => writer.stats(),
    healthy: () => refusal() === undefined,
    version: () => state.version,
    close(): Promise<void> {
      closing ??= writer.close().finally(() => lock.release());
      return closing;
    },
  };
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

function openAppend(file: string): Promise<number> {
  return new Promise((resolvePromise, reject) =>
    openCb(file, 'a', 0o600, (err, fd) =>
      err ? reject(new StoreOpenError(`cannot open ${file} (${errnoCode(err)})`, { cause: err })) : resolvePromise(fd),
    ),
  );
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
