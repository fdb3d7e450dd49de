import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageRecord, TaskRecord } from '../../src/town/records.js';
import { T0, all, makeTown, rejectsWith, stored } from './town-fixture.js';

test('add puts a pending, unassigned task at the end of the backlog', async () => {
  const { town, store } = makeTown();
  const t = await town.addBacklog({ description: 'fix the login bug', tags: ['auth', 'bug'] });
  assert.equal(t.task_id, t.id);
  assert.deepEqual(
    { state: t.state, assigned_to: t.assigned_to, tags: t.tags, result: t.result, created_at: t.created_at, completed_at: t.completed_at },
    { state: 'pending', assigned_to: null, tags: ['auth', 'bug'], result: null, created_at: new Date(T0).toISOString(), completed_at: null },
  );
  assert.equal((await stored<TaskRecord>(store, 'tasks', t.id))?.description, 'fix the login bug');
  const t2 = await town.addBacklog({ description: 'second' });
  const list = await town.listBacklog();
  assert.deepEqual(list.backlog.map((x) => x.id), [t.id, t2.id]);
  assert.deepEqual([list.count, list.total, list.next_cursor], [2, 2, null]);
});

test('add rejects too many tags, over-long tags and an empty description (422), storing nothing', async () => {
  const { town, store } = makeTown();
  const tooMany = Array.from({ length: 33 }, (_, i) => `t${i}`);
  let err = await rejectsWith(town.addBacklog({ description: 'x', tags: tooMany }), 'input.invalid');
  assert.deepEqual(err.extras.errors?.map((e) => e.pointer), ['/tags']);
  err = await rejectsWith(town.addBacklog({ description: 'x', tags: ['ok', 'y'.repeat(65)] }), 'input.invalid');
  assert.deepEqual(err.extras.errors?.map((e) => e.pointer), ['/tags/1']);
  err = await rejectsWith(town.addBacklog({ description: '' }), 'input.invalid');
  assert.deepEqual(err.extras.errors?.map((e) => e.pointer), ['/description']);
  await rejectsWith(town.addBacklog({ description: 'é'.repeat(32 * 1024 + 1) }), 'input.invalid');
  assert.equal((await all(store, 'tasks')).length, 0);
  // Exactly 32 tags and 64 KiB are fine.
  await town.addBacklog({ description: 'a'.repeat(64 * 1024), tags: tooMany.slice(0, 32) });
});

test('claim assigns a backlog task to the agent and queues a task_assign', async () => {
  const { town, store } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  const t = await town.addBacklog({ description: 'job' });
  const c = await town.claimTask(t.id, a.id);
  assert.deepEqual([c.state, c.assigned_to, c.agent_id, c.agent_name, c.task_id], ['assigned', a.id, a.id, 'w', t.id]);
  assert.equal((await town.listBacklog()).total, 0);
  const msgs = await all<MessageRecord>(store, 'messages');
  assert.deepEqual(msgs.map((m) => [m.kind, m.to_agent, m.task_id, m.from]), [['task_assign', a.id, t.id, 'supervisor']]);
});

test('claim with an unknown agent leaves the task in the backlog', async () => {
  const { town, store } = makeTown();
  const t = await town.addBacklog({ description: 'job' });
  await rejectsWith(town.claimTask(t.id, 'ghost'), 'agent.not_found');
  const rec = await stored<TaskRecord>(store, 'tasks', t.id);
  assert.deepEqual([rec?.state, rec?.assigned_to], ['pending', null]);
  assert.deepEqual((await town.listBacklog()).backlog.map((x) => x.id), [t.id]);
  assert.equal((await all(store, 'messages')).length, 0);
});

test('claim: unknown task 404, task not in the backlog 409, stopped agent 409', async () => {
  const { town, store } = makeTown();
  await town.spawnAgent({ name: 'w' });
  await town.spawnAgent({ name: 'dead' });
  await rejectsWith(town.claimTask('no-such-task', 'w'), 'task.not_found');
  const t = await town.addBacklog({ description: 'job' });
  await town.claimTask(t.id, 'w');
  await rejectsWith(town.claimTask(t.id, 'w'), 'task.not_in_backlog', 'assigned');
  const direct = await town.assignTask('w', 'direct');
  await town.completeTask(direct.id, 'ok');
  await rejectsWith(town.claimTask(direct.id, 'w'), 'task.not_in_backlog', 'completed');
  await town.killAgent('dead');
  const t2 = await town.addBacklog({ description: 'job2' });
  await rejectsWith(town.claimTask(t2.id, 'dead'), 'agent.state_conflict', 'stopped');
  assert.equal((await stored<TaskRecord>(store, 'tasks', t2.id))?.state, 'pending');
});

test('assign-all hands out the whole backlog in order, with task_assign messages in order', async () => {
  const { town, store } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await town.addBacklog({ description: `job ${i}` })).id);
  const r = await town.assignAll('w');
  assert.deepEqual(r, { assigned: 5, tasks: ids, agent_id: a.id, agent_name: 'w' });
  assert.equal((await town.listBacklog()).total, 0);
  const tasks = await Promise.all(ids.map((id) => stored<TaskRecord>(store, 'tasks', id)));
  assert.ok(tasks.every((t) => t?.state === 'assigned' && t.assigned_to === a.id));
  const inbox = await town.inbox('w');
  assert.deepEqual(inbox.messages.map((m) => m.task_id), ids);
  assert.deepEqual(await town.assignAll('w'), { assigned: 0, tasks: [], agent_id: a.id, agent_name: 'w' });
});

test('assign-all with an unknown agent changes nothing', async () => {
  const { town, store } = makeTown();
  await town.addBacklog({ description: 'a' });
  await town.addBacklog({ description: 'b' });
  await rejectsWith(town.assignAll('ghost'), 'agent.not_found');
  assert.equal((await town.listBacklog()).total, 2);
  assert.equal((await all(store, 'messages')).length, 0);
});

test('delete cancels a backlog task and answers it with removed: true', async () => {
  const { town, store } = makeTown();
  await town.spawnAgent({ name: 'w' });
  const t = await town.addBacklog({ description: 'a' });
  const keep = await town.addBacklog({ description: 'b' });
  const r = await town.removeBacklog(t.id);
  assert.deepEqual([r.removed, r.task_id, r.state], [true, t.id, 'cancelled']);
  assert.equal((await stored<TaskRecord>(store, 'tasks', t.id))?.state, 'cancelled');
  assert.deepEqual((await town.listBacklog()).backlog.map((x) => x.id), [keep.id]);
  await rejectsWith(town.removeBacklog(t.id), 'task.not_in_backlog', 'cancelled');
  await rejectsWith(town.removeBacklog('missing'), 'task.not_found');
  await town.claimTask(keep.id, 'w');
  await rejectsWith(town.removeBacklog(keep.id), 'task.not_in_backlog', 'assigned');
  assert.equal((await stored<TaskRecord>(store, 'tasks', keep.id))?.state, 'assigned');
});
