// One process at a time per data directory: two writers appending to one
// journal would interleave records and corrupt it.
//
// The lock is a Unix socket that the kernel owns, not a file we interpret.
// On Linux it is bound in the abstract namespace under a name derived from the
// directory's identity (device and inode of its real path, so a symlink or a
// bind mount of the same directory finds the same lock). bind(2) is atomic:
// of two processes starting at the same instant exactly one gets the name, and
// the kernel frees it the moment the holder dies, however it dies. There is no
// stale state to guess about, so no pid check and no takeover race. This is
// the discipline of etcd, which holds a kernel flock(2) on its data files for
// as long as it runs, rather than PostgreSQL's postmaster.pid, whose pid must
// be checked for liveness (a reused pid of an unrelated process looked alive
// and blocked start-up; two starters removing one stale file could both run).
//
// The holder answers every connection to the socket with `townhall <pid>`, so
// a refused start-up names the process really holding the directory (a holder
// too busy to answer within 2 s is named from its info file instead).
// DIR/townhall.lock is kept for people and tools: it holds the holder's pid,
// is written after the lock is taken and removed before it is released, and
// its content never decides anything. Writing it is the first write of a
// start-up; if that fails (disk full) start-up stops with one line and leaves
// no file behind, as PostgreSQL does with postmaster.pid.
//
// Limits (also in docs/ARCHITECTURE.md):
// - Abstract names are per network namespace: two containers with their own
//   network namespaces sharing one volume do not see each other's lock.
// - Nothing protects a directory shared between hosts (NFS and the like).
// - Abstract names have no file permissions: a local user in the same network
//   namespace who binds the name first keeps the server from starting (a
//   denial of service, never two writers); the refusal then says the name is
//   held by something that does not answer as townhall.
// - Other platforms (macOS) bind DIR/townhall.sock instead. A socket file can
//   outlive its process, so a refused connect means stale and it is replaced;
//   two starters replacing the same stale socket at once can still race there.
import { createConnection, createServer, type Server } from 'node:net';
import { readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreOpenError, errnoCode } from './store-errors.js';

export const LOCK_FILE = 'townhall.lock';
export const LOCK_SOCKET = 'townhall.sock';
/** How long a refused start-up waits for the holder to say who it is, and how often it asks. */
const ASK_TIMEOUT_MS = 2000;
const ASK_ATTEMPTS = 4;
/** Connections answered at once; more are refused (a starting server just asks once). */
const MAX_ASKERS = 8;

export interface StoreLock {
  release(): Promise<void>;
}

export interface StoreLockOptions {
  logger: { warn(msg: string): void };
  /** Writes the info file; a test seam for a full disk. */
  writeInfo?: (file: string, text: string) => Promise<void>;
  /** Defaults to process.platform; 'linux' uses the abstract namespace. */
  platform?: NodeJS.Platform;
}

export async function acquireStoreLock(dir: string, options: StoreLockOptions): Promise<StoreLock> {
  const { logger } = options;
  const abstract = (options.platform ?? process.platform) === 'linux';
  const address = abstract ? await abstractName(dir) : join(dir, LOCK_SOCKET);
  const held = await bindOrRefuse(dir, address, abstract, logger);
  const file = join(dir, LOCK_FILE);
  const previous = await readFile(file, 'utf8').catch(() => undefined);
  if (previous !== undefined) {
    const pid = previous.trim();
    logger.warn(`taking over stale lock ${file} left by ${/^\d+$/.test(pid) ? `pid ${pid}` : 'an unknown process'}, which no longer holds the lock`);
  }
  try {
    await (options.writeInfo ?? writeInfoFile)(file, `${process.pid}\n`);
  } catch (err) {
    await rm(file, { force: true }).catch(() => {});
    await closeServer(held);
    throw new StoreOpenError(`cannot write ${file} (${errnoCode(err)}); free space or fix permissions on ${dir}`, { cause: err });
  }
  let released: Promise<void> | undefined;
  return {
    release() {
      // The info file goes first, while the lock is still ours: never remove the next holder's.
      released ??= rm(file, { force: true })
        .catch(() => {})
        .then(() => closeServer(held));
      return released;
    },
  };
}

/**
 * Bind the lock, or throw a refusal naming the holder. A holder that refuses
 * the connection is retried a few times: it may sit between bind(2) and
 * listen(2), or have just died (the name is then free on the next try).
 */
async function bindOrRefuse(dir: string, address: string, abstract: boolean, logger: StoreLockOptions['logger']): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    const server = await bindExclusive(address);
    if (server !== undefined) return server;
    const answer = await holderOf(address);
    // A holder too busy to answer in time (its event loop blocked) is named by its info file.
    const holder = answer === undefined ? await runningPidInInfoFile(dir) : answer;
    if (typeof holder === 'number') {
      throw new StoreOpenError(`another townhall (pid ${holder}) is using ${dir}; stop it or choose another [townhall.store] path`);
    }
    if (holder === 'refused' && !abstract && attempt === ASK_ATTEMPTS) {
      // Refused every time: a socket file left by a process that died.
      logger.warn(`removing stale lock socket ${address}, left by a process that is no longer running`);
      await rm(address, { force: true });
      continue;
    }
    if (holder === undefined || attempt > ASK_ATTEMPTS) {
      throw new StoreOpenError(
        `the lock of ${dir} is held by a process that does not answer as townhall; find it with \`ss -xlp | grep townhall-lock\``,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
  }
}

/** The pid in DIR/townhall.lock if that process is running; for the refusal's wording only. */
async function runningPidInInfoFile(dir: string): Promise<number | undefined> {
  const text = (await readFile(join(dir, LOCK_FILE), 'utf8').catch(() => '')).trim();
  const pid = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return errnoCode(err) === 'EPERM' ? pid : undefined;
  }
}

/** `\0townhall-lock-<dev>-<ino>` of the directory's real path. */
export async function abstractName(dir: string): Promise<string> {
  try {
    const st = await stat(await realpath(dir), { bigint: true });
    return `\0townhall-lock-${st.dev.toString(16)}-${st.ino.toString(16)}`;
  } catch (err) {
    throw new StoreOpenError(`cannot read the data directory ${dir} (${errnoCode(err)})`, { cause: err });
  }
}

/** Binds `address`, or resolves undefined when another socket holds it. */
function bindExclusive(address: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      // Anyone on the host may connect: answer, then close our end at once, so
      // a client that never hangs up cannot hold our file descriptors.
      socket.on('error', () => {});
      socket.end(`townhall ${process.pid}\n`, () => socket.destroy());
    });
    server.maxConnections = MAX_ASKERS;
    server.once('error', (err) => {
      if (errnoCode(err) === 'EADDRINUSE') resolve(undefined);
      else reject(new StoreOpenError(`cannot take the lock of the data directory (${errnoCode(err)})`, { cause: err }));
    });
    server.listen(address, () => {
      // The lock must not keep the process alive on its own; the store's close releases it.
      server.unref();
      resolve(server);
    });
  });
}

/** The pid the holder of `address` announces; 'refused' if nothing listens; undefined if something else answers. */
function holderOf(address: string): Promise<number | 'refused' | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection(address);
    const done = (answer: number | 'refused' | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), ASK_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 64) done(undefined);
    });
    socket.on('end', () => {
      const m = /^townhall (\d+)\n$/.exec(text);
      done(m === null ? undefined : Number(m[1]));
    });
    socket.on('error', (err) => done(['ECONNREFUSED', 'ENOENT'].includes(errnoCode(err)) ? 'refused' : undefined));
  });
}

async function writeInfoFile(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o644 });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
