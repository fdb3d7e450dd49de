import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentRecord, MessageRecord, TaskRecord } from '../../src/town/records.js';
import { T0, all, makeTown, rejectsWith, stored } from './town-fixture.js';

const iso = (ms: number): string => new Date(ms).toISOString();

test('assign creates an assigned task and queues a task_assign from the supervisor', async () => {
  const { town, store } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  const t = await town.assignTask('W', 'write the docs');
  assert.equal(t.task_id, t.id);
  assert.equal(t.agent_id, a.id);
  assert.equal(t.agent_name, 'w');
  assert.equal(t.state, 'assigned');
  assert.equal(t.assigned_to, a.id);
  assert.equal(t.description, 'write the docs');
  assert.deepEqual(t.tags, []);
  assert.equal(t.created_at, iso(T0));
  assert.equal(t.started_at, null);
  assert.equal('seq' in t || 'queue_seq' in t, false);
  const msgs = await all<MessageRecord>(store, 'messages');
  assert.equal(msgs.length, 1);
  assert.deepEqual([msgs[0]?.kind, msgs[0]?.from, msgs[0]?.to_agent, msgs[0]?.task_id, msgs[0]?.body], ['task_assign', 'supervisor', a.id, t.id, 'write the docs']);
});

test('assign to an unknown agent is 404 and to a stopped agent 409; nothing is stored', async () => {
  const { town, store } = makeTown();
  await rejectsWith(town.assignTask('ghost', 'x'), 'agent.not_found');
  await rejectsWith(town.assignTask('supervisor', 'x'), 'agent.not_found');
  await town.spawnAgent({ name: 'w' });
  await town.killAgent('w');
  await rejectsWith(town.assignTask('w', 'x'), 'agent.state_conflict', 'stopped');
  assert.equal((await all(store, 'tasks')).length, 0);
  assert.equal((await all<MessageRecord>(store, 'messages')).filter((m) => m.kind === 'task_assign').length, 0);
});

test('start: task running, agent working with current_task', async () => {
  const { town, store, clock } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  const t = await town.assignTask('w', 'job');
  clock.advance(2000);
  const s = await town.startTask(t.id);
  assert.equal(s.state, 'running');
  assert.equal(s.started_at, iso(T0 + 2000));
  assert.equal(s.updated_at, iso(T0 + 2000));
  const agent = await stored<AgentRecord>(store, 'agents', a.id);
  assert.equal(agent?.state, 'working');
  assert.equal(agent?.current_task, t.id);
  await rejectsWith(town.startTask(t.id), 'task.state_conflict', 'running');
  await rejectsWith(town.startTask('nope'), 'task.not_found');
});

test('start on a stopped agent is 409 and changes nothing', async () => {
  const { town, store } = makeTown();
  await town.spawnAgent({ name: 'w' });
  const t = await town.assignTask('w', 'job');
  await town.killAgent('w');
  await rejectsWith(town.startTask(t.id), 'agent.state_conflict', 'stopped');
  assert.equal((await stored<TaskRecord>(store, 'tasks', t.id))?.state, 'assigned');
});

test('complete: agent idle, current_task cleared, tasks_completed counted, task_done to supervisor', async () => {
  const { town, store, clock } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  const t = await town.assignTask('w', 'job');
  await town.startTask(t.id);
  clock.advance(3000);
  const done = await town.completeTask(t.id, 'all good');
  assert.equal(done.state, 'completed');
  assert.equal(done.result, 'all good');
  assert.equal(done.completed_at, iso(T0 + 3000));
  const agent = await stored<AgentRecord>(store, 'agents', a.id);
  assert.deepEqual([agent?.state, agent?.current_task, agent?.tasks_completed], ['idle', null, 1]);
  const inbox = await town.inbox('supervisor');
  assert.equal(inbox.agent, 'supervisor');
  assert.equal(inbox.total, 1);
  const m = inbox.messages[0];
  assert.deepEqual([m?.kind, m?.from, m?.to, m?.task_id], ['task_done', 'w', 'supervisor', t.id]);
  assert.match(m?.body ?? '', /all good/);
  await rejectsWith(town.completeTask(t.id, 'again'), 'task.state_conflict', 'completed');
  await rejectsWith(town.failTask(t.id, 'late'), 'task.state_conflict', 'completed');
  await rejectsWith(town.completeTask('nope', 'x'), 'task.not_found');
});

test('fail: agent idle, not counted, task_failed to supervisor (also from assigned)', async () => {
  const { town, store } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  const t = await town.assignTask('w', 'job');
  const failed = await town.failTask(t.id, 'boom');
  assert.equal(failed.state, 'failed');
  assert.equal(failed.result, 'boom');
  const agent = await stored<AgentRecord>(store, 'agents', a.id);
  assert.deepEqual([agent?.state, agent?.current_task, agent?.tasks_completed], ['idle', null, 0]);
  const inbox = await town.inbox('conductor');
  assert.deepEqual(inbox.messages.map((m) => [m.kind, m.task_id]), [['task_failed', t.id]]);
  await rejectsWith(town.startTask(t.id), 'task.state_conflict', 'failed');
});

test('a backlog task cannot be started or completed (409 pending)', async () => {
  const { town } = makeTown();
  const t = await town.addBacklog({ description: 'x' });
  await rejectsWith(town.startTask(t.id), 'task.state_conflict', 'pending');
  await rejectsWith(town.completeTask(t.id, 'r'), 'task.state_conflict', 'pending');
});

test('getTask returns the record with task_id; unknown is 404', async () => {
  const { town } = makeTown();
  const t = await town.addBacklog({ description: 'x', tags: ['a'] });
  const got = await town.getTask(t.id);
  assert.deepEqual(got, t);
  assert.equal(got.task_id, t.id);
  await rejectsWith(town.getTask('missing'), 'task.not_found');
});

test('listTasks filters by state, agent and tag; pending lists assigned-not-started', async () => {
  const { town } = makeTown();
  await town.spawnAgent({ name: 'a' });
  await town.spawnAgent({ name: 'b' });
  const t1 = await town.assignTask('a', 'one');
  const t2 = await town.assignTask('b', 'two');
  const t3 = await town.addBacklog({ description: 'three', tags: ['ui', 'fast'] });
  await town.startTask(t2.id);
  assert.deepEqual((await town.listTasks()).tasks.map((t) => t.id), [t1.id, t2.id, t3.id]);
  assert.deepEqual((await town.listTasks({ state: 'running' })).tasks.map((t) => t.id), [t2.id]);
  assert.deepEqual((await town.listTasks({ agent: 'A' })).tasks.map((t) => t.id), [t1.id]);
  assert.deepEqual((await town.listTasks({ tag: 'ui' })).tasks.map((t) => t.id), [t3.id]);
  assert.equal((await town.listTasks({ tag: 'u' })).total, 0);
  const pending = await town.listPendingTasks();
  assert.deepEqual(pending.tasks.map((t) => t.id), [t1.id]);
  assert.equal(pending.count, 1);
  assert.equal(pending.total, 1);
  await rejectsWith(town.listTasks({ agent: 'ghost' }), 'agent.not_found');
  const bad = await rejectsWith(town.listTasks({ state: 'done' }), 'input.invalid');
  assert.equal(bad.extras.errors?.[0]?.pointer, '/state');
});

test('listTasks pages through the narrowest filter and counts exactly, a repeated tag included', async () => {
  const { town } = makeTown();
  await town.spawnAgent({ name: 'w' });
  for (let i = 0; i < 6; i++) await town.addBacklog({ description: `b${i}`, tags: i % 2 === 0 ? ['even', 'even'] : ['odd'] });
  const mine = await town.assignTask('w', 'assigned');
  const tagged = await town.listTasks({ tag: 'even' }, { limit: 2 });
  assert.deepEqual([tagged.count, tagged.total, tagged.tasks.map((t) => t.description)], [2, 3, ['b0', 'b2']]);
  const next = await town.listTasks({ tag: 'even' }, { limit: 2, cursor: tagged.next_cursor });
  assert.deepEqual([next.tasks.map((t) => t.description), next.next_cursor], [['b4'], null]);
  assert.equal((await town.listTasks({ tag: 'even', state: 'pending' })).total, 3);
  assert.equal((await town.listTasks({ tag: 'even', agent: 'w' })).total, 0);
  assert.deepEqual((await town.listTasks({ agent: 'w', state: 'assigned' })).tasks.map((t) => t.id), [mine.id]);
  const first = (await town.listTasks({ tag: 'even' })).tasks[0]!;
  await town.removeBacklog(first.id);
  assert.equal((await town.listTasks({ tag: 'even' })).total, 3, 'the cancelled task keeps its tag');
  assert.equal((await town.listTasks({ tag: 'even', state: 'pending' })).total, 2);
});
