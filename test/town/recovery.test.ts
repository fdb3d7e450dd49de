import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentRecord, MessageRecord, TaskRecord } from '../../src/town/records.js';
import { all, forceAgentState, makeTown, rejectsWith, snapshot, stored } from './town-fixture.js';

const agentState = async (store: ReturnType<typeof makeTown>['store'], name: string): Promise<string | undefined> =>
  (await all<AgentRecord>(store, 'agents')).find((a) => a.name === name)?.state;

test('recover stops silent agents in watched states, judging the never-heartbeat by creation', async () => {
  const { town, store, clock } = makeTown({ heartbeatTimeoutSecs: 120 });
  await town.spawnAgent({ name: 'never' }); // starting, no heartbeat, created at T0
  await town.spawnAgent({ name: 'fresh' });
  await town.spawnAgent({ name: 'stale' });
  await town.spawnAgent({ name: 'paused' });
  await town.spawnAgent({ name: 'drain' });
  await town.spawnAgent({ name: 'gone' });
  await town.heartbeat('stale', 'working');
  await town.heartbeat('paused', 'paused');
  await town.heartbeat('drain', 'draining');
  await town.killAgent('gone');
  clock.advance(100_000);
  await town.heartbeat('fresh', 'idle');

  clock.advance(20_000); // exactly 120 s after T0: not older than the timeout yet
  assert.deepEqual(await town.recover(), { checked: 6, recovered: 0, agents: [] });

  clock.advance(1);
  const r = await town.recover();
  assert.deepEqual(r, { checked: 6, recovered: 3, agents: ['never', 'stale', 'drain'] });
  for (const [name, state] of [['never', 'stopped'], ['stale', 'stopped'], ['drain', 'stopped'], ['fresh', 'idle'], ['paused', 'paused'], ['gone', 'stopped']]) {
    assert.equal(await agentState(store, name!), state, name);
  }
});

test('recover honours the configured timeout', async () => {
  const { town, clock } = makeTown({ heartbeatTimeoutSecs: 5 });
  await town.spawnAgent({ name: 'w' });
  clock.advance(5001);
  assert.deepEqual((await town.recover()).agents, ['w']);
});

/** A town with a live agent, a dead agent holding an assigned and a running task, and a backlog item. */
async function deadAgentTown() {
  const fx = makeTown();
  const { town } = fx;
  const live = await town.spawnAgent({ name: 'live' });
  const dead = await town.spawnAgent({ name: 'dead' });
  const queued = await town.addBacklog({ description: 'already queued' });
  const t1 = await town.assignTask('dead', 'one');
  const t2 = await town.assignTask('dead', 'two');
  const t3 = await town.assignTask('dead', 'three');
  await town.startTask(t2.id);
  await town.completeTask(t3.id, 'finished');
  await town.sendMessage({ to: 'dead', message: 'fyi', kind: 'info' });
  await town.killAgent('dead');
  return { ...fx, live, dead, queued, t1, t2, t3 };
}

test('reclaim without a destination lists the tasks and changes nothing', async () => {
  const { town, store, t1, t2 } = await deadAgentTown();
  const before = await snapshot(store);
  const r = await town.reclaim({});
  assert.deepEqual(r, { reclaimed: 2, destination: 'none', tasks: [t1.id, t2.id] });
  assert.deepEqual(await snapshot(store), before);
});

test('reclaim to_backlog re-queues unfinished tasks at the end; their task_assigns go, other messages stay put', async () => {
  const { town, store, dead, queued, t1, t2, t3 } = await deadAgentTown();
  const r = await town.reclaim({ to_backlog: true });
  assert.deepEqual(r, { reclaimed: 2, destination: 'backlog', tasks: [t1.id, t2.id] });
  assert.deepEqual((await town.listBacklog()).backlog.map((t) => t.id), [queued.id, t1.id, t2.id]);
  for (const id of [t1.id, t2.id]) {
    const t = await stored<TaskRecord>(store, 'tasks', id);
    assert.deepEqual([t?.state, t?.assigned_to, t?.started_at], ['pending', null, null]);
  }
  assert.equal((await stored<TaskRecord>(store, 'tasks', t3.id))?.state, 'completed');
  const kinds = (await town.inbox('dead')).messages.map((m) => m.kind).sort();
  assert.deepEqual(kinds, ['info', 'shutdown', 'task_assign'].sort());
  const left = (await town.inbox('dead')).messages.find((m) => m.kind === 'task_assign');
  assert.equal(left?.task_id, t3.id, "only the finished task's old assignment is left");
  assert.equal((await stored<AgentRecord>(store, 'agents', dead.id))?.current_task, null);
});

test('reclaim to an agent moves tasks with fresh task_assigns and other messages, never shutdown', async () => {
  const { town, store, live, t1, t2, t3 } = await deadAgentTown();
  const r = await town.reclaim({ to: 'LIVE' });
  assert.deepEqual(r, { reclaimed: 2, destination: 'agent:live', tasks: [t1.id, t2.id] });
  for (const id of [t1.id, t2.id]) {
    const t = await stored<TaskRecord>(store, 'tasks', id);
    assert.deepEqual([t?.state, t?.assigned_to], ['assigned', live.id]);
  }
  const liveBox = (await town.inbox('live')).messages;
  // The completed task's old task_assign is not reclaimed work and would
  // mislead the new agent: it stays put; the reclaimed tasks get exactly one fresh one each.
  assert.deepEqual(liveBox.filter((m) => m.kind === 'task_assign').map((m) => m.task_id), [t1.id, t2.id]);
  assert.deepEqual(liveBox.filter((m) => m.kind === 'info').map((m) => [m.body, m.to, m.to_agent]), [['fyi', 'live', live.id]]);
  const deadBox = (await town.inbox('dead')).messages;
  assert.deepEqual(deadBox.map((m) => [m.kind, m.task_id]), [['shutdown', null], ['task_assign', t3.id]]);
  assert.equal((await all<MessageRecord>(store, 'messages')).filter((m) => m.kind === 'shutdown').length, 1);
});

test('reclaim validates from/to before changing anything', async () => {
  const { town, store } = await deadAgentTown();
  await town.spawnAgent({ name: 'also-dead' });
  await town.killAgent('also-dead');
  const before = await snapshot(store);
  await rejectsWith(town.reclaim({ to: 'ghost' }), 'agent.not_found');
  await rejectsWith(town.reclaim({ to_backlog: true, from: 'ghost' }), 'agent.not_found');
  await rejectsWith(town.reclaim({ to_backlog: true, from: 'live' }), 'agent.state_conflict', 'starting');
  await rejectsWith(town.reclaim({ to: 'also-dead' }), 'agent.state_conflict', 'stopped');
  const err = await rejectsWith(town.reclaim({ to_backlog: true, to: 'live' }), 'input.invalid');
  assert.equal(err.extras.errors?.[0]?.pointer, '/to');
  assert.deepEqual(await snapshot(store), before);
});

test('reclaim from one agent takes only its tasks', async () => {
  const { town, store, t1, t2 } = await deadAgentTown();
  await town.spawnAgent({ name: 'other' });
  const other = await town.assignTask('other', 'keep me');
  await forceAgentState(store, 'other', 'error');
  const r = await town.reclaim({ to_backlog: true, from: 'dead' });
  assert.deepEqual(r.tasks, [t1.id, t2.id]);
  assert.equal((await stored<TaskRecord>(store, 'tasks', other.id))?.state, 'assigned');
  // Without `from`, errored agents are reclaimed too.
  assert.deepEqual((await town.reclaim({ to_backlog: true })).tasks, [other.id]);
});

test('orphan tasks: gone, stopped, errored or cold assignees; list changes nothing', async () => {
  const { town, store } = makeTown();
  for (const n of ['live', 'stopped', 'cold', 'pruned']) await town.spawnAgent({ name: n });
  const tLive = await town.assignTask('live', 'live work');
  const tStopped = await town.assignTask('stopped', 'stopped work');
  const tCold = await town.assignTask('cold', 'cold work');
  const tPruned = await town.assignTask('pruned', 'pruned work');
  await town.startTask(tCold.id);
  await town.killAgent('pruned');
  await town.pruneAgents(false);
  await town.killAgent('stopped');
  await forceAgentState(store, 'cold', 'cold');
  const done = await town.assignTask('live', 'done');
  await town.completeTask(done.id, 'ok');

  const before = await snapshot(store);
  const listed = await town.orphanTasks('list');
  assert.deepEqual([listed.action, listed.count], ['list', 3]);
  assert.deepEqual(listed.tasks.map((t) => t.id), [tStopped.id, tCold.id, tPruned.id]);
  assert.deepEqual(await snapshot(store), before);

  const moved = await town.orphanTasks('to_backlog');
  assert.equal(moved.count, 3);
  assert.ok(moved.tasks.every((t) => t.state === 'pending' && t.assigned_to === null));
  assert.deepEqual((await town.listBacklog()).backlog.map((t) => t.id), [tStopped.id, tCold.id, tPruned.id]);
  assert.equal((await all<AgentRecord>(store, 'agents')).find((a) => a.name === 'cold')?.current_task, null);
  assert.equal((await stored<TaskRecord>(store, 'tasks', tLive.id))?.state, 'assigned');
  assert.equal((await town.orphanTasks('list')).count, 0);
});

test('orphan cancel cancels them; an unknown action is 422', async () => {
  const { town, store } = makeTown();
  await town.spawnAgent({ name: 'w' });
  const t = await town.assignTask('w', 'job');
  await town.killAgent('w');
  const r = await town.orphanTasks('cancel');
  assert.deepEqual([r.count, r.tasks[0]?.id, r.tasks[0]?.state], [1, t.id, 'cancelled']);
  assert.equal((await stored<TaskRecord>(store, 'tasks', t.id))?.state, 'cancelled');
  const err = await rejectsWith(town.orphanTasks('explode' as never), 'input.invalid');
  assert.equal(err.extras.errors?.[0]?.pointer, '/action');
});

// Regression: orphan-tasks left the dead agent's task_assign queued, so after a
// restart it could start a task another agent had claimed (worked twice).
for (const action of ['to_backlog', 'cancel'] as const) {
  test(`orphan-tasks ${action} voids the task's queued task_assign`, async () => {
    const { town } = makeTown();
    await town.spawnAgent({ name: 'a' });
    const t = await town.assignTask('a', 'do it');
    await town.killAgent('a');
    assert.equal((await town.inbox('a')).messages.filter((m) => m.kind === 'task_assign').length, 1);
    await town.orphanTasks(action);
    assert.deepEqual((await town.inbox('a')).messages.map((m) => m.kind), ['shutdown']);
    await town.restartAgent('a');
    assert.equal(await town.nextMessage('a'), null, `no stale assignment of ${t.id} to act on`);
  });
}
