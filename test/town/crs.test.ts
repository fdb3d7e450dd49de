// The CRS desk over a memory store and a fake clock: what the HTTP tests
// cannot reach cheaply (the deadline timer's bookkeeping, forgetting old
// message ids, cancels of tasks that are not CRS tasks, SARIF for unknown tasks).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCrsDesk } from '../../src/town/crs-desk.js';
import { CRS_MEMORY_MS, type CrsTaskDetail } from '../../src/town/crs.js';
import type { TaskRecord } from '../../src/town/records.js';
import { makeTown, T0 } from './town-fixture.js';

function detail(task_id: string, deadline: number): CrsTaskDetail {
  return { task_id, type: 'full', deadline, focus: 'f', project_name: 'p', harnesses_included: true, metadata: {}, source: [] };
}

const ID = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

test('expireDue does no store work before the earliest deadline, then fails what is due and only that', async () => {
  const fx = makeTown();
  const desk = createCrsDesk(fx.town);
  await desk.submit({ message_id: 'm1', message_time: T0, tasks: [detail(ID(1), T0 + 1000), detail(ID(2), T0 + 5000)] });
  const before = fx.store.version();
  await desk.expireDue();
  assert.equal(fx.store.version(), before, 'nothing due: no transaction');
  fx.clock.advance(1000);
  await desk.expireDue();
  const states = async () => (await fx.town.listTasks()).tasks.map((t) => [t.id, t.state, t.result]);
  assert.deepEqual(await states(), [[ID(1), 'failed', 'deadline passed'], [ID(2), 'pending', null]]);
  // A later submit with an earlier deadline moves the next check forward.
  await desk.submit({ message_id: 'm2', message_time: T0, tasks: [detail(ID(3), T0 + 1500)] });
  fx.clock.advance(600);
  await desk.expireDue();
  assert.deepEqual((await states())[2], [ID(3), 'failed', 'deadline passed']);
  assert.equal((await states())[1]![1], 'pending');
});

test('message ids and early cancels are forgotten after CRS_MEMORY_MS, not before', async () => {
  const fx = makeTown();
  const desk = createCrsDesk(fx.town);
  await desk.submit({ message_id: 'old', message_time: T0, tasks: [] });
  await desk.cancel(ID(9));
  assert.equal(await desk.purge(), 0);
  fx.clock.advance(CRS_MEMORY_MS);
  assert.equal(await desk.purge(), 2);
  // Forgotten: the same message id queues again, and the early cancel no longer applies.
  const r = await desk.submit({ message_id: 'old', message_time: T0, tasks: [detail(ID(9), T0 + 2 * CRS_MEMORY_MS)] });
  assert.deepEqual([r.duplicate, r.queued], [false, [ID(9)]]);
});

test('a cancel naming a task that is not a CRS task changes nothing; SARIF for an unknown task is kept', async () => {
  const fx = makeTown();
  const desk = createCrsDesk(fx.town);
  const own = await fx.town.addBacklog({ description: 'ours' });
  await desk.cancel(own.id);
  assert.equal((await fx.town.getTask(own.id)).state, 'pending');
  assert.equal(await desk.submitSarif({ message_id: 's', message_time: T0, broadcasts: [{ sarif_id: 'x', task_id: ID(5), sarif: {}, metadata: {} }] }), 1);
  assert.equal(await desk.submitSarif({ message_id: 's', message_time: T0, broadcasts: [{ sarif_id: 'x', task_id: ID(5), sarif: {}, metadata: {} }] }), 0, 'stored once');
  const stored = await fx.town.view((tx) => tx.get<{ task_id: string }>('meta', `crs.sarif:${ID(5)}:x`));
  assert.equal(stored?.task_id, ID(5));
  // The task arriving later is a normal backlog task; cancel-all reaches it.
  await desk.submit({ message_id: 'm', message_time: T0, tasks: [detail(ID(5).toUpperCase(), T0 + 60_000)] });
  assert.equal(await desk.cancelAll(), 1);
  const task = await fx.town.view((tx) => tx.get<TaskRecord>('tasks', ID(5)));
  assert.deepEqual([task?.state, task?.source], ['cancelled', 'crs']);
});

test('a deadline queued by another replica (same store, another desk) is seen within the rescan interval', async () => {
  const fx = makeTown();
  const here = createCrsDesk(fx.town);
  const there = createCrsDesk(fx.town);
  await here.expireDue(); // caches "no deadline"
  await there.submit({ message_id: 'r', message_time: T0, tasks: [detail(ID(7), T0 + 1000)] });
  fx.clock.advance(30_000);
  await here.expireDue();
  assert.equal((await fx.town.getTask(ID(7))).state, 'failed');
});
