// snapshot.json written in slices and streamed back in chunks: rows that
// straddle the reader's 4 MiB chunks (multi-byte characters included), a row
// larger than a chunk, and every kind of damage the reader must refuse.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMemoryState, type MemoryState } from '../../src/store/memory-state.js';
import { writeSnapshot } from '../../src/store/snapshot.js';
import { captureSnapshot } from '../../src/store/state-capture.js';
import { readSnapshot } from '../../src/store/snapshot-reader.js';
import { StoreOpenError } from '../../src/store/store-errors.js';
import { fixedSource } from '../helpers/snapshot-source.js';
import { inTempDir } from '../helpers/temp-dir.js';


function stateWith(puts: [collection: 'agents' | 'tasks' | 'meta', id: string, value: unknown][]): MemoryState {
  const state = createMemoryState();
  const { ops } = state.run((tx) => puts.forEach(([c, id, v]) => tx.put(c, id, v)));
  state.apply(ops);
  return state;
}

async function load(dir: string): Promise<{ seq: number; state: MemoryState }> {
  const state = createMemoryState();
  return { seq: await readSnapshot(dir, state), state };
}

const snapshotFile = (dir: string): string => join(dir, 'snapshot.json');

describe('snapshot file', () => {
  test('rows across chunk boundaries, multi-byte text and a row larger than a chunk load back exactly, frozen', async () => {
    await inTempDir('snapfile', async (dir) => {
      const puts: [('agents' | 'tasks' | 'meta'), string, unknown][] = [];
      for (let i = 0; i < 3000; i++) puts.push(['tasks', `t${i}`, { id: `t${i}`, text: `é✓🚀 ${'x'.repeat(i % 3000)}`, tags: ['a', { deep: [i] }] }]);
      puts.push(['agents', 'big', { id: 'big', blob: 'ü'.repeat(3 << 20) }]); // 6 MiB of UTF-8: more than one read chunk
      puts.push(['meta', 'counter', 42]);
      const original = stateWith(puts);
      await writeSnapshot(dir, captureSnapshot(7, original));
      const { seq, state } = await load(dir);
      assert.equal(seq, 7);
      for (const c of ['agents', 'tasks', 'meta'] as const) {
        assert.deepEqual(state.view.ids(c), original.view.ids(c));
        assert.deepEqual(state.view.list(c), original.view.list(c));
      }
      const task = state.view.get<{ tags: [string, { deep: number[] }] }>('tasks', 't5')!;
      assert.ok(Object.isFrozen(task) && Object.isFrozen(task.tags) && Object.isFrozen(task.tags[1].deep));
    });
  });

  test('no snapshot file: sequence 0 and an empty state', async () => {
    await inTempDir('snapfile', async (dir) => {
      const { seq, state } = await load(dir);
      assert.equal(seq, 0);
      assert.equal(state.view.count('tasks'), 0);
    });
  });

  const source = fixedSource(3, [{ name: 'agents', ids: ['a', 'b'], values: [{ id: 'a' }, { id: 'b' }] }]);
  const damages: [string, (text: string) => string, RegExp][] = [
    ['a changed value', (t) => t.replace('"id":"b"', '"id":"c"'), /checksum mismatch/],
    ['a cut-off trailer', (t) => t.slice(0, -10), /truncated file/],
    ['a file cut after a row', (t) => t.slice(0, t.indexOf('{"end"')), /truncated file/],
    ['a cut-off row', (t) => t.slice(0, t.indexOf('["agents","b"') + 5), /truncated file/],
    ['a row that is not JSON', (t) => t.replace('["agents","b",{"id":"b"}]', '["agents","b",{"id":"b"]]'), /unparsable record at byte offset \d+/],
    ['a row of an unknown collection', (t) => t.replace('["agents","b"', '["robots","b"'), /invalid record at byte offset \d+/],
    ['an unknown header', (t) => t.replace('"version":2', '"version":9'), /unrecognised header/],
    ['data after the trailer', (t) => `${t}["agents","z",{}]\n`, /unexpected data after the trailer/],
  ];
  for (const [what, damage, message] of damages) {
    test(`${what} stops loading with a StoreOpenError`, async () => {
      await inTempDir('snapfile', async (dir) => {
        await writeSnapshot(dir, source);
        const text = await readFile(snapshotFile(dir), 'utf8');
        const damaged = damage(text);
        assert.notEqual(damaged, text);
        await writeFile(snapshotFile(dir), damaged);
        await assert.rejects(load(dir), (err: unknown) => {
          assert.ok(err instanceof StoreOpenError, String(err));
          assert.match(err.message, message);
          assert.match(err.message, /snapshot\.json is corrupt/);
          return true;
        });
      });
    });
  }

  test('a blank line among the rows is refused', async () => {
    await inTempDir('snapfile', async (dir) => {
      await writeSnapshot(dir, source);
      const text = await readFile(snapshotFile(dir), 'utf8');
      await writeFile(snapshotFile(dir), text.replace('\n["agents","b"', '\n\n["agents","b"'));
      await assert.rejects(load(dir), /unparsable record/);
    });
  });

  test('the same id twice in a collection is refused, even with a valid checksum', async () => {
    await inTempDir('snapfile', async (dir) => {
      await writeSnapshot(dir, fixedSource(1, [{ name: 'agents', ids: ['a', 'a'], values: [{}, {}] }]));
      await assert.rejects(load(dir), /snapshot\.json is corrupt: duplicate records in agents/);
    });
  });
});
