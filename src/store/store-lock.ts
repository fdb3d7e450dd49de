// DIR/townhall.lock: one process at a time per data directory. Two writers
// appending to the same journal would interleave records and corrupt it.
//
// The file holds the owner's pid. It is created with O_CREAT|O_EXCL ('wx'), so
// of two processes racing to create it exactly one wins. A lock whose pid is
// no longer running is stale (the owner crashed) and is taken over with a
// warning.
//
// Safety notes:
// - A pid we cannot signal because of permissions (EPERM) is alive: another
//   user's townhall still counts.
// - A lock holding our own pid that this process does not hold is stale: it was
//   left by an earlier run that had the same pid, as happens in containers
//   where the server is always pid 1.
// - A lock file without a readable pid is not guessed about: opening fails
//   and asks the operator to remove it.
// - Takeover (unlink, then 'wx' again) has a narrow race if two processes
//   start at the same instant over the same stale lock; the 'wx' still makes
//   them fail rather than share when the timing is tighter than the unlink.
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreOpenError, errnoCode } from './store-errors.js';

export const LOCK_FILE = 'townhall.lock';
/** An empty lock older than this was not being written by a starting server. */
const EMPTY_LOCK_GRACE_MS = 5000;

async function ageMs(file: string): Promise<number> {
  try {
    return Date.now() - (await stat(file)).mtimeMs;
  } catch {
    return 0;
  }
}

/** Lock files held by this process, so a same-pid lock can be told apart from a stale one. */
const held = new Set<string>();

export interface StoreLock {
  release(): Promise<void>;
}

export async function acquireStoreLock(dir: string, logger: { warn(msg: string): void }): Promise<StoreLock> {
  const file = join(dir, LOCK_FILE);
  // Two attempts: the first may find a stale lock, which is removed before the second.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await tryCreate(file)) {
      held.add(file);
      return { release: () => release(file) };
    }
    const text = await readLock(file);
    if (text === undefined) continue; // removed between our create and read: just retry
    const pid = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (text.trim() === '' && (await ageMs(file)) > EMPTY_LOCK_GRACE_MS) {
      // A crash between creating the file and writing the pid leaves it empty.
      logger.warn(`taking over empty lock ${file}, left by a process that died while starting`);
      await unlink(file).catch((err: unknown) => {
        if (errnoCode(err) !== 'ENOENT') throw err;
      });
      continue;
    }
    if (!Number.isSafeInteger(pid) || pid <= 0) {
      throw new StoreOpenError(
        `${file} exists but does not contain a pid; if no townhall is running on ${dir}, delete the file and start again`,
      );
    }
    if (isRunning(pid) && !(pid === process.pid && !held.has(file))) {
      throw new StoreOpenError(`another townhall (pid ${pid}) is using ${dir}; stop it or choose another [townhall.store] path`);
    }
    logger.warn(`taking over stale lock ${file} left by pid ${pid}, which is no longer running`);
    await unlink(file).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
  }
  throw new StoreOpenError(`could not acquire ${file}: another process keeps creating it`);
}

async function tryCreate(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx');
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw new StoreOpenError(`cannot create ${file} (${errnoCode(err)}); check the directory's permissions`, { cause: err });
  }
  try {
    await handle.writeFile(`${process.pid}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

async function readLock(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new StoreOpenError(`cannot read ${file} (${errnoCode(err)})`, { cause: err });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** Remove the lock only if it is still ours: never delete a lock another process took over. */
async function release(file: string): Promise<void> {
  if (!held.delete(file)) return;
  const text = await readLock(file).catch(() => undefined);
  if (text?.trim() !== String(process.pid)) return;
  await unlink(file).catch((err: unknown) => {
    if (errnoCode(err) !== 'ENOENT') throw err;
  });
}
