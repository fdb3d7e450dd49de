import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRetention, dropFinishedTasks, retentionIntervalMs } from '../../src/town/retention.js';
import type { TaskRecord } from '../../src/town/records.js';
import { makeTown } from './town-fixture.js';

const HOUR = 3600_000;

test('retention deletes finished tasks older than the retention, oldest first, and keeps everything else', async () => {
  const { town, clock, store } = makeTown();
  await town.spawnAgent({ name: 'w' });
  const done = await town.assignTask('w', 'old, completed');
  await town.completeTask(done.id, 'ok');
  const failed = await town.assignTask('w', 'old, failed');
  await town.failTask(failed.id, 'no');
  const removed = await town.addBacklog({ description: 'old, cancelled from the backlog' });
  await town.removeBacklog(removed.id);
  const waiting = await town.addBacklog({ description: 'old but still waiting' });
  const running = await town.assignTask('w', 'old but running');
  await town.startTask(running.id);
  clock.advance(2 * HOUR);
  const recent = await town.assignTask('w', 'recently completed');
  await town.completeTask(recent.id, 'ok');
  clock.advance(30 * 60_000);

  assert.equal(await town.mutate((w) => dropFinishedTasks(w, HOUR)), 3);
  const left = await store.read((tx) => tx.list<TaskRecord>('tasks').map((t) => t.id));
  assert.deepEqual(left.sort(), [waiting.id, running.id, recent.id].sort());
  assert.equal((await town.summary()).tasks_by_state.completed, 1);
  assert.equal(await town.mutate((w) => dropFinishedTasks(w, HOUR)), 0, 'nothing left that is due');
});

test('a sweep runs in batches until nothing due is left, each batch its own transaction', async () => {
  const { town, clock, store } = makeTown();
  for (let i = 0; i < 25; i++) {
    const t = await town.addBacklog({ description: `t${i}` });
    await town.removeBacklog(t.id);
  }
  clock.advance(HOUR + 1);
  let transactions = 0;
  const transact = store.transact.bind(store);
  store.transact = (fn) => {
    transactions++;
    return transact(fn);
  };
  assert.equal(await applyRetention(town, HOUR, 10), 25);
  assert.equal(transactions, 3);
  assert.equal((await town.listTasks()).total, 0);
});

test('the sweep interval is a quarter of the retention, from 1 s to 1 min', () => {
  assert.equal(retentionIntervalMs(1), 1000);
  assert.equal(retentionIntervalMs(8), 2000);
  assert.equal(retentionIntervalMs(7 * 86_400), 60_000);
});
