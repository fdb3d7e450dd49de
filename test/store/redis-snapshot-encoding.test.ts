// The Redis snapshot is encoded a slice at a time from a capture of the state,
// so a big town does not stop the event loop while a replica writes it, and
// what it holds is exactly the state at its version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryState } from '../../src/store/memory-state.js';
import { decodeSnapshot, encodeSnapshotParts } from '../../src/store/redis-log-codec.js';
import { SLICE_ROWS } from '../../src/store/state-capture.js';

function townOf(n: number): ReturnType<typeof createMemoryState> {
  const state = createMemoryState();
  state.apply(
    state.run((tx) => {
      for (let i = 0; i < n; i++) tx.put('tasks', `t${i}`, { i, description: 'd'.repeat(50) });
      tx.put('meta', 'seq', n);
    }).ops,
  );
  return state;
}

test('the parts join into the snapshot of the state at its version, later writes left out', async () => {
  const state = townOf(3000);
  const encoding = encodeSnapshotParts(7, state);
  // Written after the capture: must not be in the snapshot.
  state.apply(state.run((tx) => tx.put('tasks', 'late', { late: true })).ops);
  state.apply(state.run((tx) => tx.delete('tasks', 't0')).ops);
  const parts = await encoding;
  const decoded = decodeSnapshot(Buffer.concat(parts).toString('utf8'));
  assert.ok(decoded !== undefined);
  assert.equal(decoded.version, 7);
  assert.equal(decoded.ops.length, 3001);
  assert.deepEqual(decoded.ops[0], { kind: 'put', collection: 'tasks', id: 't0', value: { i: 0, description: 'd'.repeat(50) } });
  assert.ok(!decoded.ops.some((op) => op.id === 'late'));
});

test('encoding yields to the event loop while it works', async () => {
  const state = townOf(20_000);
  let turns = 0;
  let counting = true;
  const tick = (): void => {
    turns++;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  const parts = await encodeSnapshotParts(1, state);
  counting = false;
  assert.ok(turns >= 20_000 / SLICE_ROWS, `the loop turned ${turns} times while 20,000 records were encoded`);
  assert.ok(parts.length >= 3, 'the text came in parts of about 1 MiB');
});

test('an empty town encodes to a valid snapshot', async () => {
  const decoded = decodeSnapshot(Buffer.concat(await encodeSnapshotParts(0, createMemoryState())).toString());
  assert.deepEqual(decoded, { version: 0, ops: [] });
});
