// Compaction that never stops the event loop or the writes, and survives a
// crash at any of its steps.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SNAPSHOT_SHARE } from '../../src/store/journal-compaction.js';
import { openJournalStore, StoreUnavailableError, type JournalIo } from '../../src/store/journal-store.js';
import { nodeJournalIo } from '../../src/store/journal-writer.js';
import { SLICE_ROWS } from '../../src/store/state-capture.js';
import { runAndKill } from '../helpers/kill-after-acks.js';
import { inTempDir } from '../helpers/temp-dir.js';

const CHILD = fileURLToPath(new URL('./compaction-crash-child.js', import.meta.url));
const quiet = { warn: () => {}, info: () => {} };
const FAST_RETRY = { initialMs: 2, maxMs: 10 };

function errno(code: string): Error {
  return Object.assign(new Error(`${code}: injected`), { code });
}

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Polls (without timing assertions) until `cond` holds; fails after ~5 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}


/** The seq in snapshot.json's header, and the seq of journal.log's first record (undefined when empty). */
async function seqs(dir: string): Promise<{ snapshot: number; journalFirst: number | undefined }> {
  const first = (text: string): number | undefined => {
    const m = /"seq":(\d+)/.exec(text);
    return m === null ? undefined : Number(m[1]);
  };
  return { snapshot: first(await readFile(join(dir, 'snapshot.json'), 'utf8'))!, journalFirst: first(await readFile(join(dir, 'journal.log'), 'utf8')) };
}

describe('journal store: compaction in slices', () => {
  // Regression: the whole state was serialised in one synchronous step (8 s at
  // a million records), and the flush loop waited for the snapshot, so no
  // request was served and no write acknowledged until it was written.
  test('the event loop keeps turning and writes keep being acknowledged while a large snapshot is written', async () => {
    await inTempDir('compaction', async (dir) => {
      const RECORDS = 40_000;
      let turns = 0;
      let acks = 0;
      /** Rows serialised in each event-loop turn, seen through a toJSON on every captured value. */
      const rowsPerTurn = new Map<number, number>();
      let acksDuring = -1;
      const io: JournalIo = {
        ...nodeJournalIo,
        async writeSnapshot(d, source) {
          const watched = source.collections.map((c) => ({
            ...c,
            *chunks() {
              for (const chunk of c.chunks()) {
                yield { ids: chunk.ids, values: chunk.values.map((v) => ({ toJSON: () => (rowsPerTurn.set(turns, (rowsPerTurn.get(turns) ?? 0) + 1), v) })) };
              }
            },
          }));
          const acksBefore = acks;
          const bytes = await nodeJournalIo.writeSnapshot(d, { seq: source.seq, collections: watched, release: source.release });
          acksDuring = acks - acksBefore;
          return bytes;
        },
      };
      const store = await openJournalStore({ dir, durability: 'always', compactAfterBytes: 1 << 20, io, logger: quiet });
      // One transaction of many records pushes the journal past 1 MiB: the next flush starts a compaction.
      await store.transact((tx) => {
        for (let i = 0; i < RECORDS; i++) tx.put('tasks', `t${i}`, { id: `t${i}`, n: i });
      });
      let n = 0;
      const pending: Promise<void>[] = [];
      // Every turn of the event loop: count it and commit a write, until the compaction has finished
      // (under steady writes the batch is never empty between flushes: it must not wait for that).
      await new Promise<void>((resolve) => {
        const turn = (): void => {
          turns++;
          pending.push(store.transact((tx) => tx.put('meta', `w${n++}`, n)).then(() => void acks++));
          if (store.stats().compactions > 0 || turns > 200_000) resolve();
          else setImmediate(turn);
        };
        setImmediate(turn);
      });
      const finishedWhileWriting = store.stats().compactions;
      await Promise.all(pending);
      await store.close();
      assert.equal(finishedWhileWriting, 1, 'the compaction finished while writes kept coming');
      const rows = [...rowsPerTurn.values()];
      assert.equal(rows.reduce((x, y) => x + y, 0), RECORDS, 'every captured row was serialised once');
      assert.ok(Math.max(...rows) <= SLICE_ROWS, `at most ${SLICE_ROWS} rows per event-loop turn (saw ${Math.max(...rows)})`);
      assert.ok(rowsPerTurn.size >= RECORDS / SLICE_ROWS, `serialised over ${rowsPerTurn.size} turns`);
      assert.ok(acksDuring > 0, 'writes were acknowledged while the snapshot was being written');

      const { snapshot, journalFirst } = await seqs(dir);
      assert.equal(snapshot, 1, 'the snapshot holds the big transaction');
      assert.equal(journalFirst, 2, 'the journal holds exactly what came after it');
      const reopened = await openJournalStore({ dir, durability: 'always', logger: quiet });
      assert.equal(await reopened.read((tx) => tx.count('tasks')), RECORDS);
      assert.equal(await reopened.read((tx) => tx.count('meta')), n, 'every write made during the compaction survived');
      await reopened.close();
    });
  });

  const steps = [
    'writeSnapshot:during',
    'writeSnapshot:after',
    'installSnapshot:during',
    'installSnapshot:after',
    'copyJournalTail:during',
    'copyJournalTail:after',
    'installJournal:during',
    'installJournal:after',
    'syncDir:after',
  ];
  for (const step of steps) {
    test(`a crash at ${step.replace(':', ' ')} loses no acknowledged write and leaves no leftovers`, async () => {
      await inTempDir('compaction', async (dir) => {
        const acked = await runAndKill(CHILD, [dir, step], Number.MAX_SAFE_INTEGER);
        assert.ok(acked.length > 0, 'the child acknowledged writes before it died');
        const warnings: string[] = [];
        const store = await openJournalStore({ dir, durability: 'always', logger: { warn: (m) => void warnings.push(m) } });
        try {
          const present = await store.read((tx) => new Set(tx.ids('tasks')));
          assert.deepEqual(acked.filter((id) => !present.has(id)), [], 'acknowledged transactions were lost');
          assert.equal(existsSync(join(dir, 'snapshot.json.tmp')), false);
          assert.equal(existsSync(join(dir, 'journal.log.tmp')), false);
          assert.doesNotMatch(warnings.join('\n'), /torn|corrupt/);
          await store.transact((tx) => tx.put('tasks', 'after', { id: 'after' }));
        } finally {
          await store.close();
        }
        const again = await openJournalStore({ dir, durability: 'always', logger: quiet });
        assert.equal(await again.read((tx) => tx.get<{ id: string }>('tasks', 'after')?.id), 'after');
        await again.close();
      });
    });
  }

  test('a snapshot captured before a failed journal write is discarded, never installed', async () => {
    await inTempDir('compaction', async (dir) => {
      const firstSync = gate();
      const snapshotWritten = gate();
      let failWrites = false;
      let writes = 0;
      const io: JournalIo = {
        ...nodeJournalIo,
        // The first write (durable on return: the fd is O_DSYNC) is held until the test lets it finish.
        async write(fd, data, offset, length) {
          if (failWrites) throw errno('EIO');
          if (writes++ === 0) await firstSync.opened;
          return nodeJournalIo.write(fd, data, offset, length);
        },
        async writeSnapshot(d, source) {
          const bytes = await nodeJournalIo.writeSnapshot(d, source);
          await snapshotWritten.opened;
          return bytes;
        },
      };
      const store = await openJournalStore({ dir, durability: 'always', compactAfterBytes: 1, io, logger: quiet, retry: FAST_RETRY });
      const kept = store.transact((tx) => tx.put('agents', 'kept', { id: 'kept' }));
      await new Promise((resolve) => setImmediate(resolve)); // its flush is now waiting in its durable write
      // Applied in memory (seq 2 and 3), so the compaction that starts after the first flush captures them at
      // seq 3; their own write fails.
      const doomed = [1, 2].map((n) => store.transact((tx) => tx.put('agents', `doomed${n}`, { id: `doomed${n}` })));
      failWrites = true;
      firstSync.open();
      await kept;
      for (const d of doomed) await assert.rejects(d, StoreUnavailableError);
      failWrites = false;
      await until(() => store.health() === 'ok', 'the journal to heal'); // the probe record takes seq 2
      // Seq 3 again, flushed alone: sequence numbers alone cannot tell this journal from the one captured.
      await store.transact((tx) => tx.put('agents', 'later', { id: 'later' }));
      snapshotWritten.open();
      await store.close();
      assert.equal(store.stats().compactions, 0, 'the snapshot holding the rejected write was not installed');
      const reopened = await openJournalStore({ dir, durability: 'always', logger: quiet });
      assert.deepEqual(await reopened.read((tx) => tx.ids('agents')), ['kept', 'later']);
      await reopened.close();
    });
  });

  test('a failed directory fsync after the journal is replaced refuses writes until a probe syncs it', async () => {
    await inTempDir('compaction', async (dir) => {
      let failSync = false;
      const io: JournalIo = {
        ...nodeJournalIo,
        async syncDir(d) {
          if (failSync) throw errno('EIO');
          return nodeJournalIo.syncDir(d);
        },
      };
      const warnings: string[] = [];
      const store = await openJournalStore({ dir, durability: 'always', compactAfterBytes: 1, io, logger: { warn: (m) => void warnings.push(m) }, retry: FAST_RETRY });
      failSync = true;
      await store.transact((tx) => tx.put('agents', 'a', { id: 'a' }));
      await until(() => store.health() === 'degraded', 'the failed directory fsync to be seen');
      assert.match(warnings.join('\n'), /journal directory fsync failed .*\(EIO\)/);
      await assert.rejects(store.transact((tx) => tx.put('agents', 'refused', {})), StoreUnavailableError);
      assert.deepEqual(await store.read((tx) => tx.ids('agents')), ['a'], 'reads go on');
      failSync = false;
      await until(() => store.health() === 'ok', 'the probe to heal it');
      await store.transact((tx) => tx.put('agents', 'b', { id: 'b' }));
      await store.close();
      const reopened = await openJournalStore({ dir, durability: 'always', logger: quiet });
      assert.deepEqual(await reopened.read((tx) => tx.ids('agents')), ['a', 'b']);
      await reopened.close();
    });
  });
  // Regression: compaction ran every compact_after_bytes whatever the state's size, so its cost per
  // write grew with the town (at a million records, 5 snapshot bytes rewritten per journal byte).
  test('a compaction also waits for the journal to grow by a share of the last snapshot, also after a restart', async () => {
    await inTempDir('compaction', async (dir) => {
      const FLOOR = 4096;
      const open = () => openJournalStore({ dir, durability: 'always', compactAfterBytes: FLOOR, logger: quiet });
      let store = await open();
      let n = 0;
      const write = () => store.transact((tx) => tx.put('agents', `a${n}`, { id: `a${n++}`, note: 'y'.repeat(200) }));
      // 2,000 records of about 100 bytes: the first compaction (past the floor) writes a snapshot of about 200 KB.
      await store.transact((tx) => {
        for (let i = 0; i < 2000; i++) tx.put('tasks', `t${i}`, { id: `t${i}`, text: 'x'.repeat(80) });
      });
      while (store.stats().compactions === 0) await write();
      const snapshotBytes = (await stat(join(dir, 'snapshot.json'))).size;
      assert.ok(snapshotBytes > 150_000, `snapshot of ${snapshotBytes} bytes`);
      const due = Math.floor(snapshotBytes * SNAPSHOT_SHARE);

      /** Write until a compaction has run; returns how much the journal had grown since `from` by then (it finishes a few flushes after it starts). */
      const growthAtCompaction = async (from: number, limit: number): Promise<number> => {
        const before = store.stats().compactions;
        let grown = 0;
        while (store.stats().compactions === before) {
          grown = store.stats().journalBytes - from;
          assert.ok(grown < limit, `no compaction after ${grown} bytes of journal`);
          await write();
        }
        return grown;
      };
      // (2 KB of slack: `from` is read a write or two after the compaction measured what it kept.)
      const grown = await growthAtCompaction(store.stats().journalBytes, due + 64 * 1024);
      assert.ok(grown >= due - 2048, `compacted after ${grown} bytes of journal: many times the floor (${FLOOR}), but less than the share of the snapshot (${due})`);

      // After a restart the share comes from snapshot.json's size (at open nothing is kept yet: the whole journal counts).
      await store.close();
      store = await open();
      const reopenedDue = Math.floor((await stat(join(dir, 'snapshot.json'))).size * SNAPSHOT_SHARE);
      assert.ok(reopenedDue > 8 * FLOOR);
      const grownAfterRestart = await growthAtCompaction(0, reopenedDue + 64 * 1024);
      assert.ok(grownAfterRestart >= reopenedDue, `after a restart, compacted at ${grownAfterRestart} bytes of journal, before ${reopenedDue}`);
      await store.close();
    });
  });
});
