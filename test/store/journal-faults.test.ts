// I/O failures injected through the journal's file operations (JournalIo):
// a full disk or EIO on journal writes must not stop reads, must never let a
// non-durable write be acknowledged or shown, and must heal on its own; a
// failing compaction (EMFILE) must never take the store down.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openJournalStore, StoreUnavailableError, type JournalIo, type JournalStore } from '../../src/store/journal-store.js';
import { nodeJournalIo } from '../../src/store/journal-writer.js';
import { writeSnapshot } from '../../src/store/snapshot.js';
import { fixedSource } from '../helpers/snapshot-source.js';
import { inTempDir } from '../helpers/temp-dir.js';

const FAST_RETRY = { initialMs: 2, maxMs: 10 };


function errno(code: string): Error {
  return Object.assign(new Error(`${code}: injected`), { code });
}

type IoStep = keyof JournalIo;

interface Faults {
  io: JournalIo;
  /** Which operation fails while armed; `partial` writes a few bytes first, as a disk filling up mid-write does. */
  arm(op: IoStep | 'partial' | null, code?: string): void;
  calls: Record<IoStep, number>;
}

function faults(): Faults {
  let armed: IoStep | 'partial' | null = null;
  let code = 'ENOSPC';
  const calls = Object.fromEntries(Object.keys(nodeJournalIo).map((k) => [k, 0])) as Record<IoStep, number>;
  const io = { ...nodeJournalIo };
  for (const step of Object.keys(nodeJournalIo) as IoStep[]) {
    const real = nodeJournalIo[step] as (...args: unknown[]) => Promise<unknown>;
    (io as Record<IoStep, unknown>)[step] = async (...args: unknown[]) => {
      calls[step]++;
      if (armed === step) throw errno(code);
      if (armed === 'partial' && step === 'write') {
        armed = 'write'; // the next attempt finds the disk full
        const [fd, data, offset, length] = args as [number, Buffer, number, number];
        return nodeJournalIo.write(fd, data, offset, Math.min(length, 7));
      }
      return real(...args);
    };
  }
  return { io, calls, arm: (op, c = 'ENOSPC') => ((armed = op), (code = c)) };
}

function logger(): { warnings: string[]; warn(m: string): void; info(m: string): void } {
  const l = { warnings: [] as string[], warn: (m: string) => void l.warnings.push(m), info: () => {} };
  return l;
}

/** Polls (without timing assertions) until `cond` holds; fails after ~5 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const ids = (store: JournalStore): Promise<string[]> => store.read((tx) => tx.list<{ id: string }>('agents').map((a) => a.id));

describe('journal store: a failing disk', () => {
  // With durability "always" the journal fd is O_DSYNC: a device that fails to make the data durable
  // answers the write itself with EIO (there is no separate fdatasync per batch to fail).
  for (const [op, code] of [['write', 'ENOSPC'], ['partial', 'ENOSPC'], ['write', 'EIO']] as const) {
    test(`a failing journal ${op} (${code}) keeps reads working, refuses writes with 503, and heals on its own`, async () => {
      await inTempDir('faults', async (dir) => {
        const f = faults();
        const log = logger();
        const store = await openJournalStore({ dir, durability: 'always', io: f.io, logger: log, retry: FAST_RETRY });
        await store.transact((tx) => tx.put('agents', 'before', { id: 'before' }));
        const versionBefore = store.version();
        f.arm(op, code);
        const writes = Array.from({ length: 10 }, (_, i) => store.transact((tx) => tx.put('agents', `s${i}`, { id: `s${i}`, secret: 'hunter2' })));
        // A read made while the doomed writes are in memory must not show them.
        const seenDuring = ids(store);
        for (const r of await Promise.allSettled(writes)) {
          assert.equal(r.status, 'rejected', 'nothing acknowledged that is not durable');
          const err = (r as PromiseRejectedResult).reason as Error;
          assert.ok(err instanceof StoreUnavailableError);
          assert.match(err.message, new RegExp(`journal (write|fdatasync|fsync) failed .*\\(${code}\\)`));
          assert.doesNotMatch(err.message, /hunter2/);
        }
        assert.deepEqual(await seenDuring, ['before'], 'reads answer from what is durable');
        assert.deepEqual(await ids(store), ['before']);
        assert.equal(store.health(), 'degraded');
        assert.equal(store.healthy(), false, 'readiness sees it');
        assert.ok(store.version() > versionBefore, 'version never repeats after a rollback');
        await assert.rejects(store.transact((tx) => tx.put('agents', 'refused', {})), StoreUnavailableError);

        // The disk keeps failing for a few probes: still degraded, reads still fine.
        const probes = f.calls['ftruncate']!;
        await until(() => f.calls['ftruncate']! >= probes + 2, 'two probes');
        assert.equal(store.health(), 'degraded');
        assert.deepEqual(await ids(store), ['before']);

        f.arm(null); // space freed
        await until(() => store.health() === 'ok', 'writes to recover');
        await store.transact((tx) => tx.put('agents', 'after', { id: 'after' }));
        assert.deepEqual(await ids(store), ['before', 'after']);
        assert.match(log.warnings.join('\n'), /accepts writes again/);
        assert.ok(store.stats().writeFailures >= 1);
        await store.close();

        const reopenLog = logger();
        const reopened = await openJournalStore({ dir, durability: 'always', logger: reopenLog });
        assert.deepEqual(await ids(reopened), ['before', 'after']);
        assert.deepEqual(reopenLog.warnings, [], 'the probe cut the partial record: no torn tail, no corruption');
        await reopened.close();
      });
    });
  }

  test('with durability "none" a failed write also refuses later writes, keeps reads, and heals', async () => {
    await inTempDir('faults', async (dir) => {
      const f = faults();
      const store = await openJournalStore({ dir, durability: 'none', io: f.io, logger: logger(), retry: FAST_RETRY });
      await store.transact((tx) => tx.put('agents', 'a', { id: 'a' }));
      await store.close();
      const again = await openJournalStore({ dir, durability: 'none', io: f.io, logger: logger(), retry: FAST_RETRY });
      f.arm('write');
      // "none" answers after the write(2), not the disk: a failed write fails its transaction.
      await assert.rejects(again.transact((tx) => tx.put('agents', 'b', { id: 'b' })), /ENOSPC/);
      assert.equal(again.health(), 'degraded');
      await assert.rejects(again.transact((tx) => tx.put('agents', 'c', {})), /ENOSPC/);
      assert.deepEqual(await ids(again), ['a'], 'memory rolled back to the disk');
      f.arm(null);
      await until(() => again.health() === 'ok', 'recovery');
      await again.transact((tx) => tx.put('agents', 'd', { id: 'd' }));
      await again.close();
    });
  });

  test('closing while writes fail releases the lock and reports the failure', async () => {
    await inTempDir('faults', async (dir) => {
      const f = faults();
      const store = await openJournalStore({ dir, durability: 'always', io: f.io, logger: logger(), retry: { initialMs: 60_000, maxMs: 60_000 } });
      f.arm('write', 'EIO');
      await assert.rejects(store.transact((tx) => tx.put('agents', 'x', {})), StoreUnavailableError);
      await assert.rejects(store.close(), StoreUnavailableError);
      assert.equal(existsSync(join(dir, 'townhall.lock')), false);
      const next = await openJournalStore({ dir, durability: 'always', logger: logger() });
      assert.deepEqual(await ids(next), []);
      await next.close();
    });
  });
});

describe('journal store: a failing compaction', () => {
  const steps = [
    ['writeSnapshot', 'EMFILE'],
    ['writeSnapshot', 'ENOSPC'],
    ['installSnapshot', 'EIO'],
    ['copyJournalTail', 'ENOSPC'],
    ['installJournal', 'EMFILE'],
  ] as const;
  for (const [op, code] of steps) {
    test(`a failing compaction (${op}, ${code}) never stops the store and is retried until it works`, async () => {
      await inTempDir('faults', async (dir) => {
        const f = faults();
        const log = logger();
        const store = await openJournalStore({ dir, durability: 'always', compactAfterBytes: 1024, io: f.io, logger: log, retry: FAST_RETRY });
        f.arm(op, code);
        for (let wave = 0; wave < 10; wave++) {
          await Promise.all(
            Array.from({ length: 5 }, (_, i) => store.transact((tx) => tx.put('agents', `a${wave * 5 + i}`, { id: `a${wave * 5 + i}`, pad: 'x'.repeat(100) }))),
          );
          assert.equal(store.health(), 'ok', 'a failed compaction does not degrade writes');
          assert.equal((await ids(store)).length, wave * 5 + 5, 'reads keep working');
          await new Promise((resolve) => setTimeout(resolve, 3)); // let the backoff pass now and then
        }
        assert.ok(store.stats().compactionFailures >= 2, `retried (${store.stats().compactionFailures} failures)`);
        assert.equal(store.stats().compactions, 0);
        assert.match(log.warnings.join('\n'), new RegExp(`compacting .* failed \\(${code}\\); the store keeps working`));

        f.arm(null);
        for (let i = 0; store.stats().compactions === 0 && i < 200; i++) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          await store.transact((tx) => tx.put('meta', 'tick', i));
        }
        assert.ok(store.stats().compactions > 0, 'compaction works again once the cause is gone');
        await store.close();
        assert.equal(existsSync(join(dir, 'snapshot.json.tmp')), false);
        assert.equal(existsSync(join(dir, 'journal.log.tmp')), false);

        const reopened = await openJournalStore({ dir, durability: 'always', logger: logger() });
        assert.deepEqual(await ids(reopened), Array.from({ length: 50 }, (_, n) => `a${n}`));
        await reopened.close();
      });
    });
  }

  test('a snapshot that cannot be renamed into place leaves no snapshot.json.tmp behind', async () => {
    await inTempDir('faults', async (dir) => {
      await mkdir(join(dir, 'snapshot.json', 'blocker'), { recursive: true }); // rename over a non-empty directory fails
      await assert.rejects(writeSnapshot(dir, fixedSource(1, [{ name: 'agents', ids: ['a'], values: [{}] }])));
      assert.deepEqual((await readdir(dir)).sort(), ['snapshot.json']);
    });
  });
});
