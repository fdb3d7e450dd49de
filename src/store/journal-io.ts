// The file operations the journal writer uses, as one object so tests can
// replace any of them to inject faults (ENOSPC, EIO, EMFILE) deterministically.
import { fdatasync, ftruncate, write } from 'node:fs';
import { writeSnapshot, type SnapshotData } from './snapshot.js';

/** The file operations the writer uses; replaceable in tests to inject faults. */
export interface JournalIo {
  /** Write from `data` at the end of the file (the fd is O_APPEND); returns bytes written. */
  write(fd: number, data: Buffer, offset: number, length: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  /** Replace DIR/snapshot.json crash-safely (snapshot.ts). */
  writeSnapshot(dir: string, data: SnapshotData): Promise<void>;
}

export const nodeJournalIo: JournalIo = {
  write: (fd, data, offset, length) =>
    new Promise((resolve, reject) => write(fd, data, offset, length, null, (err, n) => (err ? reject(err) : resolve(n)))),
  fdatasync: (fd) => new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  ftruncate: (fd, length) => new Promise((resolve, reject) => ftruncate(fd, length, (err) => (err ? reject(err) : resolve()))),
  writeSnapshot,
};
