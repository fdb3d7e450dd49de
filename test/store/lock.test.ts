// The data-directory lock (store-lock.ts): a kernel-held lock, so a crash
// leaves nothing that can let two servers in or keep a new one out.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openJournalStore, StoreOpenError } from '../../src/store/journal-store.js';
import { abstractName, acquireStoreLock, LOCK_FILE } from '../../src/store/store-lock.js';
import { createServer } from 'node:net';
import { inTempDir } from '../helpers/temp-dir.js';

const CHILD = fileURLToPath(new URL('./lock-child.js', import.meta.url));
const ROUNDS = 100;
const PARALLEL_DIRS = 4;


const quiet = { warn: () => {} };

/** Resolves with the child's first line that matches `pattern`. */
function lineFrom(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      const line = text.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        child.stdout!.off('data', onData);
        resolve(line);
      }
    };
    child.stdout!.on('data', onData);
    // 'close', not 'exit': 'exit' can come before the child's last output has been read.
    child.once('close', (code) => reject(new Error(`child exited (${code}) before printing ${pattern}: ${text}`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Two processes released at the same instant on `dir`; returns their outcome lines. Both are then SIGKILLed. */
async function racePair(dir: string): Promise<string[]> {
  const pair = [0, 1].map(() => spawn(process.execPath, [CHILD, dir], { stdio: ['pipe', 'pipe', 'inherit'] }));
  try {
    await Promise.all(pair.map((c) => lineFrom(c, /^ready$/)));
    const outcomes = pair.map((c) => lineFrom(c, /^(ok|refused .*)$/));
    for (const c of pair) c.stdin!.write('go\n');
    return await Promise.all(outcomes);
  } finally {
    // SIGKILL: the winner dies holding the lock, so the next round starts on a stale lock.
    await Promise.all(pair.map(kill));
  }
}

describe('store lock', () => {
  test(`pairs of servers started at once on a directory with a stale lock: exactly one runs, ${ROUNDS} times`, { timeout: 240_000 }, async () => {
    await inTempDir('lock', async (root) => {
      const failures: string[] = [];
      let bothRan = 0;
      await Promise.all(
        Array.from({ length: PARALLEL_DIRS }, async (_, d) => {
          const dir = join(root, `d${d}`);
          for (let round = 0; round < ROUNDS / PARALLEL_DIRS; round++) {
            const outcomes = await racePair(dir);
            const ok = outcomes.filter((o) => o === 'ok').length;
            const refusedRightly = outcomes.filter((o) => /^refused another townhall \(pid \d+\) is using /.test(o)).length;
            if (ok !== 1 || refusedRightly !== 1) failures.push(`dir ${d} round ${round}: ${JSON.stringify(outcomes)}`);
            if (ok > 1) bothRan++;
          }
        }),
      );
      assert.deepEqual(failures, [], `${failures.length} of ${ROUNDS} pairs did not have exactly one winner (both ran: ${bothRan})`);
      // Every winner's write is in the journal, in order: no two writers ever interleaved.
      for (let d = 0; d < PARALLEL_DIRS; d++) {
        const store = await openJournalStore({ dir: join(root, `d${d}`), durability: 'always', logger: quiet });
        assert.equal(await store.read((tx) => tx.count('meta')), ROUNDS / PARALLEL_DIRS);
        await store.close();
      }
    });
  });

  test('a lock file naming an unrelated live process does not block start-up', async () => {
    await inTempDir('lock', async (dir) => {
      const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
      try {
        await writeFile(join(dir, LOCK_FILE), `${other.pid}\n`);
        const warnings: string[] = [];
        const store = await openJournalStore({ dir, durability: 'always', logger: { warn: (m) => void warnings.push(m) } });
        assert.match(warnings.join('\n'), new RegExp(`stale lock .* pid ${other.pid}\\b`));
        assert.equal((await readFile(join(dir, LOCK_FILE), 'utf8')).trim(), String(process.pid));
        await store.close();
      } finally {
        await kill(other);
      }
    });
  });

  test('a lock file with garbage or nothing in it does not block start-up', async () => {
    await inTempDir('lock', async (dir) => {
      for (const content of ['garbage', '']) {
        await writeFile(join(dir, LOCK_FILE), content);
        const store = await openJournalStore({ dir, durability: 'always', logger: quiet });
        await store.close();
        assert.equal(existsSync(join(dir, LOCK_FILE)), false);
      }
    });
  });

  test('the same directory reached through a symlink is the same lock', async () => {
    await inTempDir('lock', async (dir) => {
      const real = join(dir, 'real');
      const store = await openJournalStore({ dir: real, durability: 'always', logger: quiet });
      await symlink(real, join(dir, 'link'));
      await assert.rejects(openJournalStore({ dir: join(dir, 'link'), durability: 'always', logger: quiet }), /another townhall \(pid \d+\)/);
      await store.close();
    });
  });

  test('a full disk while writing the info file: one-line StoreOpenError, no file left, lock released', async () => {
    await inTempDir('lock', async (dir) => {
      const writeInfo = async (file: string): Promise<void> => {
        await writeFile(file, ''); // created, then the write fails, as on a full disk
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      };
      await assert.rejects(acquireStoreLock(dir, { logger: quiet, writeInfo }), (err: unknown) => {
        assert.ok(err instanceof StoreOpenError);
        assert.match(err.message, /^cannot write .*townhall\.lock \(ENOSPC\); free space or fix permissions on /);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      });
      assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'no lock file left behind');
      const lock = await acquireStoreLock(dir, { logger: quiet });
      await lock.release();
    });
  });

  test('a name squatted by something that is not townhall refuses start-up and says so', { skip: process.platform !== 'linux' }, async () => {
    await inTempDir('lock', async (dir) => {
      const name = await abstractName(dir);
      const real = createServer((s) => s.end('hello\n'));
      await new Promise<void>((resolve) => real.listen(name, resolve));
      try {
        await assert.rejects(acquireStoreLock(dir, { logger: quiet }), /held by a process that does not answer as townhall/);
        assert.equal(existsSync(join(dir, LOCK_FILE)), false);
      } finally {
        await new Promise((resolve) => real.close(resolve));
      }
    });
  });

  test('the socket-file fallback (non-Linux) refuses a live holder and replaces a stale socket', async () => {
    await inTempDir('lock', async (dir) => {
      const first = await acquireStoreLock(dir, { logger: quiet, platform: 'darwin' });
      assert.ok(existsSync(join(dir, 'townhall.sock')));
      await assert.rejects(acquireStoreLock(dir, { logger: quiet, platform: 'darwin' }), /another townhall \(pid \d+\)/);
      await first.release();
      // A stale socket file: a plain file nobody listens on stands in for one left by a crash.
      await writeFile(join(dir, 'townhall.sock'), '');
      const warnings: string[] = [];
      const second = await acquireStoreLock(dir, { logger: { warn: (m) => void warnings.push(m) }, platform: 'darwin' });
      assert.match(warnings.join('\n'), /removing stale lock socket/);
      await second.release();
    });
  });
});
