import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentRecord, MessageRecord } from '../../src/town/records.js';
import { T0, all, forceAgentState, makeTown, rejectsWith, stored } from './town-fixture.js';

const iso = (ms: number): string => new Date(ms).toISOString();

test('spawn returns the full record with agent_id and stores it', async () => {
  const { town, store } = makeTown({ defaultCli: 'codex' });
  const a = await town.spawnAgent({ name: 'alice' });
  assert.match(a.id, /^[0-9a-f-]{36}$/);
  assert.equal(a.agent_id, a.id);
  assert.deepEqual({ ...a, id: 'x', agent_id: 'x' }, {
    id: 'x', agent_id: 'x', name: 'alice', cli: 'codex', role_id: null, nickname: null, parent_agent_id: null,
    state: 'starting', current_task: null, tasks_completed: 0, created_at: iso(T0), last_heartbeat: null, last_active_at: null,
  });
  const rec = await stored<AgentRecord>(store, 'agents', a.id);
  assert.equal(rec?.name, 'alice');
  assert.equal(typeof rec?.seq, 'number');
});

test('spawn takes cli, role, nickname and a parent by name (stored as its id)', async () => {
  const { town } = makeTown();
  const parent = await town.spawnAgent({ name: 'boss' });
  const a = await town.spawnAgent({ name: 'w1', cli: 'gemini', role_id: 'worker', nickname: 'Wendy', parent_agent_id: 'BOSS' });
  assert.equal(a.cli, 'gemini');
  assert.equal(a.role_id, 'worker');
  assert.equal(a.nickname, 'Wendy');
  assert.equal(a.parent_agent_id, parent.id);
});

test('spawn with an unknown parent is 404 and stores nothing', async () => {
  const { town, store } = makeTown();
  await rejectsWith(town.spawnAgent({ name: 'orphan', parent_agent_id: 'nobody' }), 'agent.not_found');
  assert.equal((await all(store, 'agents')).length, 0);
  // The name was not taken either.
  await town.spawnAgent({ name: 'orphan' });
});

test('agent names are unique regardless of case (409)', async () => {
  const { town, store } = makeTown();
  await town.spawnAgent({ name: 'Alice' });
  await rejectsWith(town.spawnAgent({ name: 'alice' }), 'agent.exists');
  await rejectsWith(town.spawnAgent({ name: 'ALICE' }), 'agent.exists');
  assert.equal((await all(store, 'agents')).length, 1);
});

test('supervisor and conductor are reserved names (409, like a taken name)', async () => {
  const { town, store } = makeTown();
  for (const name of ['supervisor', 'Conductor', 'SUPERVISOR']) {
    const err = await rejectsWith(town.spawnAgent({ name }), 'agent.exists');
    assert.match(err.detail, /reserved/);
  }
  assert.equal((await all(store, 'agents')).length, 0);
});

test('an agent is found by id or by name in any case; unknown and supervisor are 404', async () => {
  const { town } = makeTown();
  const a = await town.spawnAgent({ name: 'Bob' });
  assert.equal((await town.getAgent(a.id)).name, 'Bob');
  assert.equal((await town.getAgent('bob')).id, a.id);
  assert.equal((await town.getAgent('BOB')).id, a.id);
  await rejectsWith(town.getAgent('carol'), 'agent.not_found');
  await rejectsWith(town.getAgent('supervisor'), 'agent.not_found');
  assert.equal('seq' in (await town.getAgent('bob')), false);
});

test('listAgents lists in creation order and never the supervisor', async () => {
  const { town } = makeTown();
  for (const n of ['c', 'a', 'b']) await town.spawnAgent({ name: n });
  const list = await town.listAgents();
  assert.deepEqual(list.agents.map((a) => a.name), ['c', 'a', 'b']);
  assert.equal(list.count, 3);
  assert.equal(list.total, 3);
  assert.equal(list.next_cursor, null);
});

test('heartbeat records the time and optional state', async () => {
  const { town, clock, store } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  clock.advance(5000);
  const hb = await town.heartbeat('w', 'idle');
  assert.equal(hb.state, 'idle');
  assert.equal(hb.last_heartbeat, iso(T0 + 5000));
  assert.equal(hb.agent_id, a.id);
  clock.advance(1000);
  const hb2 = await town.heartbeat(a.id);
  assert.equal(hb2.state, 'idle');
  assert.equal((await stored<AgentRecord>(store, 'agents', a.id))?.last_heartbeat, iso(T0 + 6000));
});

test('heartbeat from a stopped agent is 409 with current_state; unknown is 404', async () => {
  const { town, store } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  await town.killAgent('w');
  await rejectsWith(town.heartbeat('w', 'idle'), 'agent.state_conflict', 'stopped');
  assert.equal((await stored<AgentRecord>(store, 'agents', a.id))?.state, 'stopped');
  await rejectsWith(town.heartbeat('ghost'), 'agent.not_found');
});

test('kill stops the agent and queues one urgent shutdown message', async () => {
  const { town, store } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  const killed = await town.killAgent('W');
  assert.equal(killed.state, 'stopped');
  assert.equal(killed.agent_id, a.id);
  let msgs = await all<MessageRecord>(store, 'messages');
  assert.equal(msgs.length, 1);
  assert.deepEqual([msgs[0]?.kind, msgs[0]?.to, msgs[0]?.to_agent, msgs[0]?.from, msgs[0]?.urgent], ['shutdown', 'w', a.id, 'supervisor', true]);
  await town.killAgent('w');
  msgs = await all<MessageRecord>(store, 'messages');
  assert.equal(msgs.length, 1, 'killing a stopped agent queues nothing more');
  await rejectsWith(town.killAgent('ghost'), 'agent.not_found');
});

test('restart makes the agent idle, drops queued shutdowns, keeps other messages', async () => {
  const { town, store, clock } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  await town.sendMessage({ to: 'w', message: 'hello', kind: 'info' });
  await town.killAgent('w');
  clock.advance(1000);
  const r = await town.restartAgent('w');
  assert.equal(r.state, 'idle');
  assert.equal(r.current_task, null);
  assert.equal(r.last_heartbeat, iso(T0 + 1000));
  const msgs = await all<MessageRecord>(store, 'messages');
  assert.deepEqual(msgs.map((m) => m.kind), ['info']);
  assert.equal((await stored<AgentRecord>(store, 'agents', a.id))?.state, 'idle');
  await rejectsWith(town.restartAgent('ghost'), 'agent.not_found');
});

test('prune removes stopped and errored agents with their messages, or all', async () => {
  const { town, store } = makeTown();
  await town.spawnAgent({ name: 'live' });
  await town.spawnAgent({ name: 'dead' });
  await town.spawnAgent({ name: 'broken' });
  await town.heartbeat('broken', 'idle');
  await town.sendMessage({ to: 'dead', message: 'bye' });
  await town.killAgent('dead');
  // `error` is not a heartbeat state, so no API call sets it.
  await forceAgentState(store, 'broken', 'error');
  const r = await town.pruneAgents(false);
  assert.deepEqual(r, { removed: 2, agents: ['dead', 'broken'] });
  assert.deepEqual((await town.listAgents()).agents.map((a) => a.name), ['live']);
  assert.equal((await all(store, 'messages')).length, 0);
  // The pruned name is free again.
  await town.spawnAgent({ name: 'dead' });
  const everything = await town.pruneAgents(true);
  assert.deepEqual(everything.agents, ['live', 'dead']);
  assert.equal((await all(store, 'agents')).length, 0);
  await rejectsWith(town.getAgent('live'), 'agent.not_found');
});

test('max_agents is enforced: the spawn past it is agent.limit_reached; a stopped agent frees its place', async () => {
  const { town } = makeTown({ maxAgents: 2 });
  await town.spawnAgent({ name: 'a' });
  await town.spawnAgent({ name: 'b' });
  await rejectsWith(town.spawnAgent({ name: 'c' }), 'agent.limit_reached');
  await town.killAgent('a');
  assert.equal((await town.spawnAgent({ name: 'c' })).name, 'c');
  await rejectsWith(town.spawnAgent({ name: 'd' }), 'agent.limit_reached');
});
