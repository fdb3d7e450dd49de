// The last steps of a compaction: once snapshot.json holds every record up to
// some sequence number, journal.log is replaced by a copy of only what was
// written after those records (the writes that went on while the snapshot was
// being written, usually a few MiB).
//
// Safety: the copy is written to journal.log.tmp and fdatasynced before it is
// renamed over journal.log, so a crash leaves either the whole old journal
// (whose records up to the snapshot's sequence number are skipped at replay)
// or the complete new one. The writer swaps to the returned fd only after the
// rename, and fsyncs the directory before acknowledging anything written to it.
import { close as closeCb, open as openCb } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';

const COPY_BYTES = 1 << 20;

export const journalTmp = (file: string): string => `${file}.tmp`;

/** Write `file`.tmp holding bytes [from, to) of `file`, fdatasynced; removes it if anything fails. */
export async function copyJournalTail(file: string, from: number, to: number): Promise<void> {
  const tmp = journalTmp(file);
  try {
    const source = await open(file, 'r');
    try {
      const target = await open(tmp, 'w', 0o600);
      try {
        const buf = Buffer.allocUnsafe(Math.min(COPY_BYTES, Math.max(1, to - from)));
        for (let at = from; at < to; ) {
          const { bytesRead } = await source.read(buf, 0, Math.min(buf.length, to - at), at);
          if (bytesRead === 0) throw new Error(`${file} ends before byte ${to}`);
          await target.write(buf, 0, bytesRead);
          at += bytesRead;
        }
        await target.datasync();
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
  } catch (err) {
    await removeJournalTmp(file);
    throw err;
  }
}

/** Rename `file`.tmp over `file`; resolves with an fd on it opened with `flags` (first, so a rename is never left without one). */
export async function installJournal(file: string, flags: number): Promise<number> {
  const tmp = journalTmp(file);
  let fd: number;
  try {
    fd = await new Promise<number>((resolve, reject) => openCb(tmp, flags, 0o600, (err, n) => (err ? reject(err) : resolve(n))));
  } catch (err) {
    await removeJournalTmp(file);
    throw err;
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await new Promise<void>((resolve) => closeCb(fd, () => resolve()));
    await removeJournalTmp(file);
    throw err;
  }
  return fd;
}

/** A leftover journal.log.tmp is an unfinished compaction: journal.log is still whole. */
export async function removeJournalTmp(file: string): Promise<void> {
  await rm(journalTmp(file), { force: true }).catch(() => {});
}
