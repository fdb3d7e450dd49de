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

test('property: a batch with failing members ends exactly like running its successful members one by one', async () => {
  const fc = (await import('fast-check')).default;
  type Step = { op: 'put'; collection: 'tasks' | 'agents'; id: string; n: number } | { op: 'delete'; collection: 'tasks' | 'agents'; id: string };
  const step = fc.oneof(
    fc.record({ op: fc.constant('put' as const), collection: fc.constantFrom('tasks' as const, 'agents' as const), id: fc.constantFrom('a', 'b', 'c', 'd'), n: fc.nat(9) }),
    fc.record({ op: fc.constant('delete' as const), collection: fc.constantFrom('tasks' as const, 'agents' as const), id: fc.constantFrom('a', 'b', 'c', 'd') }),
  );
  const member = fc.record({ steps: fc.array(step, { maxLength: 6 }), fails: fc.boolean() });
  const seed = fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 });
  fc.assert(
    fc.property(seed, fc.array(member, { minLength: 2, maxLength: 6 }), (seeded, members) => {
      const fresh = () => {
        const state = createMemoryState();
        state.apply(state.run((tx) => seeded.forEach((id) => tx.put('tasks', id, { id, n: -1 }))).ops);
        return state;
      };
      const run = (m: { steps: Step[]; fails: boolean }) => (tx: Parameters<Parameters<ReturnType<typeof createMemoryState>['run']>[0]>[0]) => {
        for (const s of m.steps) {
          if (s.op === 'put') tx.put(s.collection, s.id, { id: s.id, n: s.n });
          else tx.delete(s.collection, s.id);
        }
        if (m.fails) throw new Error('member fails');
        return `${tx.ids('tasks').join('')}|${tx.ids('agents').join('')}`;
      };
      const batched = fresh();
      const { outcomes, ops } = batched.runBatch(members.map(run));
      batched.apply(ops);
      const serial = fresh();
      members.forEach((m, i) => {
        if (m.fails) {
          assert.equal(outcomes[i]!.ok, false);
          return;
        }
        const { result, ops: own } = serial.run(run(m));
        serial.apply(own);
        assert.deepEqual(outcomes[i], { ok: true, result }, `member ${i} saw the same ids`);
      });
      for (const c of ['tasks', 'agents'] as const) assert.deepEqual(batched.view.list(c), serial.view.list(c), c);
    }),
    { numRuns: 500 },
  );
});
