// Audit lines of one event-loop turn leave in one write, in order; nothing
// queued is lost at close, and lines after close go out at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAuditBatch } from '../../src/audit/audit-batch.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('lines of one turn are one write, in order, counted as pending until then', async () => {
  const writes: string[] = [];
  const batch = createAuditBatch((chunk) => writes.push(chunk));
  batch.write('a\n');
  batch.write('bb\n');
  assert.deepEqual(writes, []);
  assert.equal(batch.pendingBytes, 5);
  await turn();
  assert.deepEqual(writes, ['a\nbb\n']);
  assert.equal(batch.pendingBytes, 0);
  batch.write('c\n');
  await turn();
  assert.deepEqual(writes, ['a\nbb\n', 'c\n']);
});

test('close writes what is queued; later lines are written at once', async () => {
  const writes: string[] = [];
  const batch = createAuditBatch((chunk) => writes.push(chunk));
  batch.write('last of the turn\n');
  batch.close();
  assert.deepEqual(writes, ['last of the turn\n']);
  batch.write('after close\n');
  assert.deepEqual(writes, ['last of the turn\n', 'after close\n']);
  await turn();
  assert.equal(writes.length, 2, 'nothing written twice');
});
