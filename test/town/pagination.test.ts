import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpError } from '../../src/errors.js';
import { decodeCursor, encodeCursor, paginate } from '../../src/town/pagination.js';
import { makeTown, rejectsWith } from './town-fixture.js';

function queryError(fn: () => unknown): OpError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof OpError);
    assert.equal(err.code, 'input.invalid');
    return err;
  }
  assert.fail('expected query.invalid');
}

test('cursors round-trip and reject anything a list did not return', () => {
  assert.deepEqual(decodeCursor(encodeCursor([0, 42]), 2), [0, 42]);
  const bad = [
    '',
    'not a cursor!',
    Buffer.from('{"a":1}').toString('base64url'),
    Buffer.from('[1.5]').toString('base64url'),
    Buffer.from('["1"]').toString('base64url'),
    Buffer.from('[1').toString('base64url'),
    encodeCursor([1, 2]), // a mailbox cursor used on a one-key list
    'A'.repeat(200),
  ];
  for (const c of bad) {
    const err = queryError(() => decodeCursor(c, 1));
    assert.deepEqual(err.extras.errors?.map((e) => e.pointer), ['/cursor']);
  }
});

test('a one-number key makes the same cursor as its one-element tuple (cursors a client holds stay valid)', () => {
  assert.equal(encodeCursor(42), encodeCursor([42]));
  assert.equal(encodeCursor(42), Buffer.from('[42]').toString('base64url'));
  assert.deepEqual(decodeCursor(encodeCursor(42), 1), [42]);
});

test('paginate sorts by key and sets next_cursor only when more remain', () => {
  const items = [5, 1, 4, 2, 3];
  const p1 = paginate(items, (n) => [n], 1, { limit: 2 });
  assert.deepEqual([p1.items, p1.total], [[1, 2], 5]);
  const p2 = paginate(items, (n) => [n], 1, { limit: 2, cursor: p1.next_cursor });
  assert.deepEqual(p2.items, [3, 4]);
  const p3 = paginate(items, (n) => [n], 1, { limit: 2, cursor: p2.next_cursor });
  assert.deepEqual([p3.items, p3.next_cursor], [[5], null]);
  assert.equal(paginate(items, (n) => [n], 1, { limit: 5 }).next_cursor, null);
  queryError(() => paginate(items, (n) => [n], 1, { limit: 1001 }));
});

test('backlog pages cover every task once, in order, across 3 pages', async () => {
  const { town } = makeTown();
  const ids: string[] = [];
  for (let i = 0; i < 250; i++) ids.push((await town.addBacklog({ description: `job ${i}` })).id);
  const seen: string[] = [];
  const counts: number[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<typeof town.listBacklog>> = await town.listBacklog({ limit: 100, cursor });
    assert.equal(page.total, 250);
    counts.push(page.count);
    seen.push(...page.backlog.map((t) => t.id));
    cursor = page.next_cursor;
  } while (cursor !== null);
  assert.deepEqual(counts, [100, 100, 50]);
  assert.deepEqual(seen, ids);
  assert.equal(new Set(seen).size, 250);
});

test('a cursor stays valid when items before it go away and new ones arrive', async () => {
  const { town } = makeTown();
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push((await town.addBacklog({ description: `job ${i}` })).id);
  const p1 = await town.listBacklog({ limit: 3 });
  await town.removeBacklog(ids[0]!);
  await town.removeBacklog(ids[1]!);
  const added = await town.addBacklog({ description: 'late' });
  const p2 = await town.listBacklog({ limit: 3, cursor: p1.next_cursor });
  assert.deepEqual(p2.backlog.map((t) => t.id), [ids[3], ids[4], ids[5]]);
  const p3 = await town.listBacklog({ limit: 3, cursor: p2.next_cursor });
  assert.deepEqual(p3.backlog.map((t) => t.id), [added.id]);
  assert.equal(p3.next_cursor, null);
});

test('lists answer a bad cursor or limit with 422', async () => {
  const { town } = makeTown();
  await town.spawnAgent({ name: 'w' });
  await rejectsWith(town.listAgents({ cursor: 'bogus!!' }), 'input.invalid');
  await rejectsWith(town.listTasks({}, { limit: 1001 }), 'input.invalid');
  await rejectsWith(town.inbox('w', { cursor: encodeCursor([1]) }), 'input.invalid');
  await rejectsWith(town.listBacklog({ limit: 0 }), 'input.invalid');
});

test('agent and task lists paginate too', async () => {
  const { town } = makeTown();
  for (let i = 0; i < 5; i++) await town.spawnAgent({ name: `a${i}` });
  const p1 = await town.listAgents({ limit: 3 });
  const p2 = await town.listAgents({ limit: 3, cursor: p1.next_cursor });
  assert.deepEqual([...p1.agents, ...p2.agents].map((a) => a.name), ['a0', 'a1', 'a2', 'a3', 'a4']);
  assert.deepEqual([p1.count, p2.count, p2.total, p2.next_cursor], [3, 2, 5, null]);
  for (let i = 0; i < 3; i++) await town.assignTask('a0', `t${i}`);
  const t1 = await town.listTasks({ agent: 'a0' }, { limit: 2 });
  const t2 = await town.listTasks({ agent: 'a0' }, { limit: 2, cursor: t1.next_cursor });
  assert.deepEqual([...t1.tasks, ...t2.tasks].map((t) => t.description), ['t0', 't1', 't2']);
});
