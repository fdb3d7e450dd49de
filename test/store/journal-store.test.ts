import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  openJournalStore,
  StoreOpenError,
  type JournalIo,
  type JournalStore,
  type JournalStoreOptions,
} from '../../src/store/journal-store.js';
import { nodeJournalIo } from '../../src/store/journal-writer.js';
import type { Collection } from '../../src/store/store.js';
import { runStoreContract } from './store-contract.js';

interface FakeLogger {
  warnings: string[];
  infos: string[];
  warn(msg: string): void;
  info(msg: string): void;
}

function fakeLogger(): FakeLogger {
  const logger: FakeLogger = {
    warnings: [],
    infos: [],
    warn: (msg) => void logger.warnings.push(msg),
    info: (msg) => void logger.infos.push(msg),
  };
  return logger;
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'townhall-store-'));
}

/** Runs `fn` with a fresh temporary directory and removes it afterwards, whatever happens. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function open(dir: string, extra: Partial<JournalStoreOptions> = {}): Promise<JournalStore> {
  return openJournalStore({ dir, durability: 'always', logger: fakeLogger(), ...extra });
}

/** Every collection's records, for comparing whole states. */
async function dump(store: JournalStore): Promise<Record<string, unknown[]>> {
  const collections: Collection[] = ['agents', 'tasks', 'messages', 'idempotency', 'meta'];
  return store.read((tx) => Object.fromEntries(collections.map((c) => [c, tx.list(c)])));
}

/** Byte offsets at which each journal line starts. */
function lineOffsets(buf: Buffer): number[] {
  const offsets: number[] = [];
  for (let at = 0; at < buf.length; at = buf.indexOf(0x0a, at) + 1) {
    offsets.push(at);
    if (buf.indexOf(0x0a, at) === -1) break;
  }
  return offsets;
}

const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

for (const durability of ['always', 'none'] as const) {
  runStoreContract(`journal (durability ${durability})`, async () => {
    const dir = await tempDir();
    const store = await open(dir, { durability });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

describe('journal store: recovery', () => {
  for (const durability of ['always', 'none'] as const) {
    test(`reopen recovers everything after close (durability ${durability})`, async () => {
      await inTempDir(async (dir) => {
        const store = await open(join(dir, 'nested', 'data'), { durability });
        const writes: Promise<unknown>[] = [];
        for (let i = 0; i < 50; i++) {
          writes.push(store.transact((tx) => tx.put('tasks', `t${i}`, { id: `t${i}`, text: `line\n${i} \u2028 "quoted"` })));
        }
        writes.push(store.transact((tx) => tx.put('tasks', 't3', { id: 't3', text: 'updated' })));
        writes.push(store.transact((tx) => tx.delete('tasks', 't4')));
        writes.push(store.transact((tx) => (tx.delete('tasks', 't5'), tx.put('tasks', 't5', { id: 't5', text: 'moved' }))));
        writes.push(store.transact((tx) => tx.put('meta', 'version', 7)));
        await Promise.all(writes);
        const before = await dump(store);
        await store.close();

        const reopened = await open(join(dir, 'nested', 'data'), { durability });
        assert.deepEqual(await dump(reopened), before);
        const ids = (before['tasks'] as { id: string }[]).map((t) => t.id);
        assert.equal(ids.at(-1), 't5');
        assert.ok(!ids.includes('t4'));
        await reopened.close();
      });
    });
  }

  test('a torn last record (incomplete line) is dropped with a warning and the file truncated', async () => {
    await inTempDir(async (dir) => {
      const store = await open(dir);
      for (let i = 0; i < 3; i++) await store.transact((tx) => tx.put('agents', `a${i}`, { id: `a${i}` }));
      await store.close();
      const file = join(dir, 'journal.log');
      const goodSize = (await stat(file)).size;
      await appendFile(file, '0123abcd {"seq":4,"ops":[["p","agents","a3",{"id":');

      const logger = fakeLogger();
      const reopened = await open(dir, { logger });
      assert.equal(logger.warnings.length, 1);
      assert.match(logger.warnings[0]!, /journal\.log/);
      assert.match(logger.warnings[0]!, new RegExp(`byte offset ${goodSize}\\b`));
      assert.equal((await stat(file)).size, goodSize, 'truncated to the last good record');
      assert.equal(await reopened.read((tx) => tx.count('agents')), 3);

      // New appends land cleanly after the good records.
      await reopened.transact((tx) => tx.put('agents', 'a3', { id: 'a3' }));
      await reopened.close();
      const third = fakeLogger();
      const again = await open(dir, { logger: third });
      assert.deepEqual(third.warnings, []);
      assert.equal(await again.read((tx) => tx.count('agents')), 4);
      await again.close();
    });
  });

  // Regression (issue 8, item 13): a complete last record (newline included)
  // with a bad checksum was dropped as torn, losing a write that may have been
  // acknowledged with only a warning. Only a record without its newline is torn.
  test('a complete last record with a bad checksum stops opening like corruption anywhere else', async () => {
    await inTempDir(async (dir) => {
      const store = await open(dir);
      for (let i = 0; i < 3; i++) await store.transact((tx) => tx.put('agents', `a${i}`, { id: `a${i}` }));
      await store.close();
      const file = join(dir, 'journal.log');
      const buf = await readFile(file);
      const last = lineOffsets(buf).at(-1)!;
      buf[buf.length - 4] = 'X'.charCodeAt(0); // inside the JSON of the last record; its newline stays
      await writeFile(file, buf);

      await assert.rejects(open(dir), (err: unknown) => {
        assert.ok(err instanceof StoreOpenError);
        assert.match(err.message, new RegExp(`journal\\.log is corrupt at byte offset ${last} \\(record 3\\): checksum mismatch`));
        return true;
      });
      assert.equal((await readFile(file)).length, buf.length, 'the journal is left untouched for the operator');
      assert.equal(existsSync(join(dir, 'townhall.lock')), false);
    });
  });

  test('a complete last record with a malformed header is corruption too, not a torn tail', async () => {
    await inTempDir(async (dir) => {
      const store = await open(dir);
      await store.transact((tx) => tx.put('agents', 'a0', { id: 'a0' }));
      await store.close();
      await appendFile(join(dir, 'journal.log'), 'garbage\n');
      await assert.rejects(open(dir), /corrupt at byte offset \d+ \(record 2\): malformed record header/);
    });
  });

  test('a corrupt record before the end stops opening with a StoreOpenError naming the file and offset', async () => {
    await inTempDir(async (dir) => {
      const store = await open(dir);
      for (let i = 0; i < 3; i++) await store.transact((tx) => tx.put('agents', `a${i}`, { id: `a${i}` }));
      await store.close();
      const file = join(dir, 'journal.log');
      const buf = await readFile(file);
      const second = lineOffsets(buf)[1]!;
      buf[second + 20] = buf[second + 20] === 0x41 ? 0x42 : 0x41;
      await writeFile(file, buf);

      for (let attempt = 0; attempt < 2; attempt++) {
        // Twice: a failed open must release the lock, so the second attempt reports the same problem.
        await assert.rejects(open(dir), (err: unknown) => {
          assert.ok(err instanceof StoreOpenError);
          assert.match(err.message, /journal\.log is corrupt/);
          assert.match(err.message, new RegExp(`byte offset ${second} \\(record 2\\)`));
          return true;
        });
      }
      assert.equal(existsSync(join(dir, 'townhall.lock')), false);
      assert.equal((await readFile(file)).length, buf.length, 'a corrupt journal is left untouched');
    });
  });

  test('a corrupt snapshot stops opening with a StoreOpenError', async () => {
    await inTempDir(async (dir) => {
      const store = await open(dir, { compactAfterBytes: 1 });
      await store.transact((tx) => {
        tx.put('agents', 'a', { id: 'a', name: 'alpha' });
        tx.put('agents', 'b', { id: 'b', name: 'bravo' });
      });
      await store.close(); // finishes the compaction that flush started
      const file = join(dir, 'snapshot.json');
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace('bravo', 'brava'));
      await assert.rejects(open(dir), (err: unknown) => {
        assert.ok(err instanceof StoreOpenError);
        assert.match(err.message, /snapshot\.json is corrupt: checksum mismatch/);
        return true;
      });
      await writeFile(file, text.slice(0, text.length - 10));
      await assert.rejects(open(dir), StoreOpenError);
    });
  });
});

describe('journal store: snapshot format', () => {
  // Regression: the snapshot used to be one JSON string, which V8 cannot build
  // past ~512 MiB, so a large town could never compact again. It is now one
  // line per record between a header and a checksummed trailer.
  test('snapshot.json holds a header, one line per record, and a trailer; a wrong count is refused', async () => {
    await inTempDir(async (dir) => {
      const store = await open(dir, { compactAfterBytes: 1 });
      await store.transact((tx) => {
        tx.put('agents', 'a', { id: 'a', note: 'line\nbreak' });
        tx.put('tasks', 't', { id: 't' });
      });
      await store.close();
      const file = join(dir, 'snapshot.json');
      const lines = (await readFile(file, 'utf8')).split('\n');
      assert.match(lines[0]!, /^\{"format":"townhall-snapshot","version":2,"seq":1,"rows":2\}$/);
      assert.deepEqual(JSON.parse(lines[1]!), ['agents', 'a', { id: 'a', note: 'line\nbreak' }]);
      assert.deepEqual(JSON.parse(lines[2]!), ['tasks', 't', { id: 't' }]);
      assert.match(lines[3]!, /^\{"end":true,"sha256":"[0-9a-f]{64}"\}$/);
      assert.equal(lines[4], '');
      const reopened = await open(dir);
      assert.deepEqual(await reopened.read((tx) => tx.get('agents', 'a')), { id: 'a', note: 'line\nbreak' });
      await reopened.close();
      await writeFile(file, lines.join('\n').replace('"rows":2', '"rows":3'));
      await assert.rejects(open(dir), /expected 3 records, found 2/);
    });
  });
});

describe('journal store: compaction', () => {
  for (const durability of ['always', 'none'] as const) {
    test(`compaction keeps every transaction, including ones issued while it runs (durability ${durability})`, async () => {
      await inTempDir(async (dir) => {
        const store = await open(dir, { durability, compactAfterBytes: 2048 });
        const all: Promise<unknown>[] = [];
        for (let wave = 0; wave < 20; wave++) {
          for (let i = 0; i < 15; i++) {
            const n = wave * 15 + i;
            all.push(
              store.transact((tx) => {
                tx.put('tasks', `t${n}`, { id: `t${n}`, body: 'x'.repeat(200) });
                tx.put('meta', 'counter', (tx.get<number>('meta', 'counter') ?? 0) + 1);
              }),
            );
          }
          await ticks(2); // let flushes and compactions interleave with the next wave
        }
        await Promise.all(all);
        // A compaction is started between flushes and finished before a later one (or at close);
        // on a loaded machine the waves can all land before one has finished, so a few more
        // small writes give it the flushes it needs (bounded: it must happen).
        for (let i = 0; i < 200 && store.stats().compactions === 0; i++) {
          await store.transact((tx) => tx.put('meta', 'nudge', i));
          await ticks(5);
        }
        await store.close();
        assert.ok(store.stats().compactions > 0, 'compacted at least once');
        assert.ok(existsSync(join(dir, 'snapshot.json')));
        // The journal holds exactly what came after the snapshot: it starts at the snapshot's seq + 1.
        const snapshotSeq = Number(/"seq":(\d+)/.exec(await readFile(join(dir, 'snapshot.json'), 'utf8'))![1]);
        const journal = await readFile(join(dir, 'journal.log'), 'utf8');
        if (journal.length > 0) assert.equal(Number(/"seq":(\d+)/.exec(journal)![1]), snapshotSeq + 1);

        const reopened = await open(dir);
        const tasks = await reopened.read((tx) => tx.list<{ id: string }>('tasks').map((t) => t.id));
        assert.deepEqual(tasks, Array.from({ length: 300 }, (_, n) => `t${n}`));
        assert.equal(await reopened.read((tx) => tx.get('meta', 'counter')), 300);
        await reopened.close();
      });
    });
  }

  test('a crash between the snapshot rename and the journal reset recovers without duplication', async () => {
    await inTempDir(async (dir) => {
      const first = await open(dir);
      for (let i = 0; i < 5; i++) await first.transact((tx) => tx.put('tasks', `t${i}`, { id: `t${i}`, v: 1 }));
      await first.close();
      const journal = join(dir, 'journal.log');
      const oldJournal = await readFile(journal);

      // Compact for real, then put the pre-compaction journal back as if the reset never happened.
      const second = await open(dir, { compactAfterBytes: 1 });
      await second.transact((tx) => tx.put('tasks', 't0', { id: 't0', v: 2 }));
      const expected = await dump(second);
      await second.close();
      assert.equal(second.stats().compactions, 1);
      await writeFile(journal, oldJournal);

      const logger = fakeLogger();
      const recovered = await open(dir, { logger });
      assert.deepEqual(logger.warnings, []);
      assert.deepEqual(await dump(recovered), expected, 'old records are skipped, not applied twice');
      assert.equal((await stat(journal)).size, 0, 'the stale journal was reset');
      await recovered.transact((tx) => tx.put('tasks', 't5', { id: 't5', v: 1 }));
      await recovered.close();

      const again = await open(dir);
      const ids = await again.read((tx) => tx.list<{ id: string; v: number }>('tasks').map((t) => `${t.id}:${t.v}`));
      assert.deepEqual(ids, ['t0:2', 't1:1', 't2:1', 't3:1', 't4:1', 't5:1']);
      await again.close();
    });
  });

  test('a leftover snapshot.json.tmp from an interrupted compaction is ignored and removed', async () => {
    await inTempDir(async (dir) => {
      const store = await open(dir);
      await store.transact((tx) => tx.put('agents', 'a', { id: 'a' }));
      await store.close();
      await writeFile(join(dir, 'snapshot.json.tmp'), '{"format":"townhall-snap');
      const reopened = await open(dir);
      assert.equal(await reopened.read((tx) => tx.count('agents')), 1);
      assert.equal(existsSync(join(dir, 'snapshot.json.tmp')), false);
      await reopened.close();
    });
  });
});

describe('journal store: lock', () => {
  test('a second open of the same directory fails and names the pid holding it', async () => {
    await inTempDir(async (dir) => {
      const store = await open(dir);
      assert.equal((await readFile(join(dir, 'townhall.lock'), 'utf8')).trim(), String(process.pid));
      await assert.rejects(open(dir), (err: unknown) => {
        assert.ok(err instanceof StoreOpenError);
        assert.match(err.message, new RegExp(`another townhall \\(pid ${process.pid}\\) is using `));
        return true;
      });
      await store.close();
      assert.equal(existsSync(join(dir, 'townhall.lock')), false, 'close removes the lock');
      const next = await open(dir);
      await next.close();
    });
  });

  test('a stale lock left by a dead process is taken over with a warning', async () => {
    await inTempDir(async (dir) => {
      const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
      const deadPid = child.pid!;
      await new Promise((resolve) => child.once('exit', resolve));
      await writeFile(join(dir, 'townhall.lock'), `${deadPid}\n`);

      const logger = fakeLogger();
      const store = await open(dir, { logger });
      assert.match(logger.warnings.join('\n'), new RegExp(`stale lock .* pid ${deadPid}\\b`));
      assert.equal((await readFile(join(dir, 'townhall.lock'), 'utf8')).trim(), String(process.pid));
      await store.close();
    });
  });

  test('a lock with our own pid that this process does not hold is stale (restarted container)', async () => {
    await inTempDir(async (dir) => {
      await writeFile(join(dir, 'townhall.lock'), `${process.pid}\n`);
      const logger = fakeLogger();
      const store = await open(dir, { logger });
      assert.equal(logger.warnings.length, 1);
      await store.close();
    });
  });
});

describe('journal store: durability', () => {
  test('group commit: 200 concurrent transactions share far fewer than 200 flushes', async () => {
    await inTempDir(async (dir) => {
      const store = await open(dir);
      await Promise.all(
        Array.from({ length: 200 }, (_, i) => store.transact((tx) => tx.put('tasks', `t${i}`, { id: `t${i}` }))),
      );
      const stats = store.stats();
      assert.equal(stats.records, 200);
      assert.ok(stats.flushes < 100, `expected batching, got ${stats.flushes} flushes`);
      await store.close();
    });
  });

  // See journal-writer.ts, "When an idle loop starts".
  test('an idle writer starts the disk write right after the first transaction with "always", and at the end of the turn with "none"', async () => {
    for (const durability of ['always', 'none'] as const) {
      await inTempDir(async (dir) => {
        const batches: number[] = [];
        const io: JournalIo = {
          ...nodeJournalIo,
          write: (fd, data, offset, length) => {
            batches.push(data.subarray(offset, offset + length).toString('utf8').split('\n').length - 1);
            return nodeJournalIo.write(fd, data, offset, length);
          },
        };
        const store = await open(dir, { io, durability });
        // Two transactions in two macrotasks of one event-loop turn, as two requests read from two sockets are.
        const done: Promise<void>[] = [];
        await new Promise<void>((resolve) => {
          setImmediate(() => done.push(store.transact((tx) => tx.put('tasks', 'a', { id: 'a' }))));
          setImmediate(() => {
            done.push(store.transact((tx) => tx.put('tasks', 'b', { id: 'b' })));
            resolve();
          });
        });
        await Promise.all(done);
        assert.deepEqual(batches, durability === 'always' ? [1, 1] : [2], `${durability}: records per write(2)`);
        await store.close();
      });
    }
  });

  test('transact and read wait for the durable write with durability "always"', async () => {
    await inTempDir(async (dir) => {
      // The first journal write (durable when it returns: the fd is O_DSYNC) blocks until the test
      // opens the gate; `entered` says it has been reached.
      let entered!: () => void;
      const reached = new Promise<void>((resolve) => (entered = resolve));
      let open_!: () => void;
      const gate = new Promise<void>((resolve) => (open_ = resolve));
      const io: JournalIo = {
        ...nodeJournalIo,
        write: async (fd, data, offset, length) => {
          entered();
          await gate;
          return nodeJournalIo.write(fd, data, offset, length);
        },
      };
      const store = await open(dir, { io });
      let wrote = false;
      let read = false;
      const write = store.transact((tx) => tx.put('agents', 'a', { id: 'a' })).then(() => (wrote = true));
      const view = store.read((tx) => tx.count('agents')).then((n) => ((read = true), n));
      await reached;
      await ticks(5);
      assert.equal(wrote, false, 'transact must not resolve before its record is durable');
      assert.equal(read, false, 'read must not show data that is not durable yet');
      open_();
      await write;
      assert.equal(await view, 1);
      await store.close();
    });
  });
});
