// The file operations the journal writer uses, as one object so tests can
// replace any of them to inject faults (ENOSPC, EIO, EMFILE) or to stop the
// process between the steps of a compaction, deterministically.
import { constants, fdatasync, ftruncate, write } from 'node:fs';
import { copyJournalTail, installJournal } from './journal-tail.js';
import { fsyncDir, installSnapshot, writeSnapshotTmp } from './snapshot.js';
import type { SnapshotSource } from './state-capture.js';

/** The file operations the writer uses; replaceable in tests to inject faults. */
export interface JournalIo {
  /** Write from `data` at the end of the file (the fd is O_APPEND); returns bytes written. */
  write(fd: number, data: Buffer, offset: number, length: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  /** Compaction step 1: write and fsync DIR/snapshot.json.tmp, in slices that yield to the event loop (snapshot.ts); resolves with its size. */
  writeSnapshot(dir: string, source: SnapshotSource): Promise<number>;
  /** Step 2: rename it over DIR/snapshot.json and fsync the directory. */
  installSnapshot(dir: string): Promise<void>;
  /** Step 3: write and fdatasync `file`.tmp holding bytes [from, to) of `file` (journal-tail.ts). */
  copyJournalTail(file: string, from: number, to: number): Promise<void>;
  /** Step 4: rename `file`.tmp over `file`; resolves with an fd on the new file opened with `flags` (journalAppend). */
  installJournal(file: string, flags: number): Promise<number>;
  /** Step 5 (and first step of every write probe): make the directory's entries durable. */
  syncDir(dir: string): Promise<void>;
}

export const nodeJournalIo: JournalIo = {
  write: (fd, data, offset, length) =>
    new Promise((resolve, reject) => write(fd, data, offset, length, null, (err, n) => (err ? reject(err) : resolve(n)))),
  fdatasync: (fd) => new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  ftruncate: (fd, length) => new Promise((resolve, reject) => ftruncate(fd, length, (err) => (err ? reject(err) : resolve()))),
  writeSnapshot: writeSnapshotTmp,
  installSnapshot,
  copyJournalTail,
  installJournal,
  syncDir: fsyncDir,
};

/**
 * How journal.log is opened for appends. With durability "always" the fd is
 * O_DSYNC (PostgreSQL's wal_sync_method = open_datasync): each write(2)
 * returns once its data is durable, as write + fdatasync would, but in one
 * trip to the thread pool per batch, with no wait in between for the event
 * loop to notice the write finished and start the fdatasync. `synced` is
 * false where the platform has no O_DSYNC: the writer then fdatasyncs.
 */
export function journalAppend(durability: 'always' | 'none'): { flags: number; synced: boolean } {
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
  const dsync = (constants as { O_DSYNC?: number }).O_DSYNC;
  if (durability === 'always' && dsync !== undefined) return { flags: flags | dsync, synced: true };
  return { flags, synced: false };
}

/** Writes all of `data` at the end of the file, however many write(2)s that takes. */
export async function writeFully(io: JournalIo, fd: number, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    const n = await io.write(fd, data, offset, data.length - offset);
    if (n <= 0) throw new Error('write returned no progress');
    offset += n;
  }
}

/**
 * The probe after a failed write: make the directory's entries durable (a
 * compaction may have renamed a journal in without a durable entry), cut
 * journal.log back to its first `goodBytes`, and append `record` durably.
 * Throws what the first failing step throws.
 */
export async function probeJournal(io: JournalIo, dir: string, fd: number, goodBytes: number, record: Buffer): Promise<void> {
  await io.syncDir(dir);
  await io.ftruncate(fd, goodBytes);
  await io.fdatasync(fd);
  await writeFully(io, fd, record);
  await io.fdatasync(fd);
}
