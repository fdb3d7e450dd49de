// Compaction that never stops the event loop or the writes, and survives a
// crash at any of its steps.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openJournalStore, type JournalIo } from '../../src/store/journal-store.js';
import { nodeJournalIo } from '../../src/store/journal-writer.js';
import { SLICE_ROWS } from '../../src/store/snapshot.js';
import { runAndKill } from '../helpers/kill-after-acks.js';

const CHILD = fileURLToPath(new URL('./compaction-crash-child.js', import.meta.url));
const quiet = { warn: () => {}, info: () => {} };

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-compaction-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
    await inTempDir(async (dir) => {
      const RECORDS = 40_000;
      let turns = 0;
      let acks = 0;
      /** Rows serialised in each event-loop turn, seen through a toJSON on every captured value. */
      const rowsPerTurn = new Map<number, number>();
      let acksDuring = -1;
      let writing = false;
      const io: JournalIo = {
        ...nodeJournalIo,
        async writeSnapshot(d, source) {
          const watched = source.collections.map((c) => ({
            ...c,
            values: c.values.map((v) => ({ toJSON: () => (rowsPerTurn.set(turns, (rowsPerTurn.get(turns) ?? 0) + 1), v) })),
          }));
          const acksBefore = acks;
          writing = true;
          try {
            await nodeJournalIo.writeSnapshot(d, { seq: source.seq, collections: watched });
          } finally {
            writing = false;
          }
          acksDuring = acks - acksBefore;
        },
      };
      const store = await openJournalStore({ dir, durability: 'always', compactAfterBytes: 1 << 20, io, logger: quiet });
      // One transaction of many records pushes the journal past 1 MiB: the next flush starts a compaction.
      await store.transact((tx) => {
        for (let i = 0; i < RECORDS; i++) tx.put('tasks', `t${i}`, { id: `t${i}`, n: i });
      });
      let n = 0;
      const pending: Promise<void>[] = [];
      // Every turn of the event loop: count it, and while the snapshot is written, commit a write.
      await new Promise<void>((resolve) => {
        const turn = (): void => {
          turns++;
          if (writing) pending.push(store.transact((tx) => tx.put('meta', `w${n++}`, n)).then(() => void acks++));
          if (store.stats().compactions > 0) resolve();
          else setImmediate(turn);
        };
        setImmediate(turn);
      });
      await Promise.all(pending);
      const rows = [...rowsPerTurn.values()];
      assert.equal(rows.reduce((x, y) => x + y, 0), RECORDS, 'every captured row was serialised once');
      assert.ok(Math.max(...rows) <= SLICE_ROWS, `at most ${SLICE_ROWS} rows per event-loop turn (saw ${Math.max(...rows)})`);
      assert.ok(rowsPerTurn.size >= RECORDS / SLICE_ROWS, `serialised over ${rowsPerTurn.size} turns`);
      assert.ok(acksDuring > 0, 'writes were acknowledged while the snapshot was being written');
      await store.close();

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
    'installSnapshot:after',
    'copyJournalTail:during',
    'copyJournalTail:after',
    'installJournal:after',
    'syncDir:after',
  ];
  for (const step of steps) {
    test(`a crash at ${step.replace(':', ' ')} loses no acknowledged write and leaves no leftovers`, async () => {
      await inTempDir(async (dir) => {
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
});
