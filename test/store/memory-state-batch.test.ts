// memory-state runBatch: the group commit of the Redis store runs several
// transaction functions as one; each must see those before it, and one that
// fails must leave nothing behind, without disturbing the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryState } from '../../src/store/memory-state.js';

test('each function sees the writes before it; a throwing one leaves nothing and keeps its error', () => {
  const state = createMemoryState();
  state.apply(state.run((tx) => ['a', 'b', 'c'].forEach((id) => tx.put('tasks', id, { id, n: 0 }))).ops);
  const boom = new Error('boom');
  const { outcomes, ops } = state.runBatch<unknown>([
    (tx) => tx.put('tasks', 'b', { id: 'b', n: 1 }),
    (tx) => {
      tx.delete('tasks', 'a');
      tx.put('tasks', 'c', { id: 'c', n: 9 });
      tx.put('tasks', 'z', { id: 'z', n: 9 });
      throw boom;
    },
    (tx) => {
      tx.delete('tasks', 'a');
      tx.put('tasks', 'a', { id: 'a', n: 2 });
      return tx.get<{ n: number }>('tasks', 'b')?.n;
    },
    async () => undefined,
    (tx) => tx.ids('tasks'),
  ]);
  assert.deepEqual(outcomes[0], { ok: true, result: undefined });
  assert.deepEqual(outcomes[1], { ok: false, error: boom });
  assert.deepEqual(outcomes[2], { ok: true, result: 1 }, 'saw the first function write');
  assert.ok(!outcomes[3]!.ok && outcomes[3]!.error instanceof TypeError, 'a promise is refused');
  assert.deepEqual(outcomes[4], { ok: true, result: ['b', 'c', 'a'] }, 'the failed function left no trace');
  state.apply(ops);
  assert.deepEqual(
    state.view.list<{ id: string; n: number }>('tasks').map((t) => `${t.id}${t.n}`),
    ['b1', 'c0', 'a2'],
    'the combined ops equal applying the successful functions one by one',
  );
});

test('a batch handle is dead after its function returns', () => {
  const state = createMemoryState();
  let leaked: { put(c: 'agents', id: string, v: unknown): void } | undefined;
  const { outcomes } = state.runBatch([(tx) => void (leaked = tx), () => leaked!.put('agents', 'x', {})]);
  assert.equal(outcomes[1]!.ok, false);
});
