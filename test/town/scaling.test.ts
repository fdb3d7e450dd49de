import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recommend } from '../../src/town/scaling.js';
import { AGENT_STATES, TASK_STATES } from '../../src/town/records.js';
import { T0, forceAgentState, makeTown } from './town-fixture.js';

test('an empty town is steady at zero', async () => {
  const { town, clock } = makeTown({ name: 'tiny', maxAgents: 4 });
  clock.advance(1500);
  assert.deepEqual(await town.scaling(), {
    town: 'tiny',
    timestamp: new Date(T0 + 1500).toISOString(),
    queue_depth: 0,
    pending_tasks: 0,
    in_flight_tasks: 0,
    active_agents: 0,
    cold_agents: 0,
    desired_agents: 0,
    max_agents: 4,
    scaling_recommendation: 'steady',
  });
});

test('backlog work asks to scale up, capped by max_agents', async () => {
  const { town } = makeTown({ maxAgents: 3 });
  for (let i = 0; i < 5; i++) await town.addBacklog({ description: `job ${i}` });
  await town.spawnAgent({ name: 'w' });
  const s = await town.scaling();
  assert.deepEqual([s.queue_depth, s.active_agents, s.desired_agents, s.scaling_recommendation], [5, 1, 3, 'scale_up']);
});

test('counts pending, in-flight, active and cold; more agents than work scales down', async () => {
  const { town, store } = makeTown({ maxAgents: 10 });
  for (const n of ['a', 'b', 'c', 'd']) await town.spawnAgent({ name: n });
  const t = await town.assignTask('a', 'run');
  await town.startTask(t.id);
  await town.assignTask('b', 'wait');
  await forceAgentState(store, 'd', 'cold');
  const s = await town.scaling();
  assert.deepEqual(
    [s.queue_depth, s.pending_tasks, s.in_flight_tasks, s.active_agents, s.cold_agents, s.desired_agents, s.scaling_recommendation],
    [0, 1, 1, 3, 1, 2, 'scale_down'],
  );
});

test('no work with agents up recommends scale_to_zero', async () => {
  const { town } = makeTown();
  await town.spawnAgent({ name: 'idle' });
  const t = await town.assignTask('idle', 'x');
  await town.completeTask(t.id, 'ok');
  assert.equal((await town.scaling()).scaling_recommendation, 'scale_to_zero');
});

test('recommend covers each outcome', () => {
  assert.equal(recommend(0, 0, 0), 'steady');
  assert.equal(recommend(0, 0, 2), 'scale_to_zero');
  assert.equal(recommend(3, 3, 1), 'scale_up');
  assert.equal(recommend(1, 1, 2), 'scale_down');
  assert.equal(recommend(2, 2, 2), 'steady');
});

test('summary counts every state, with zeros, plus backlog and messages', async () => {
  const { town } = makeTown({ name: 'sum' });
  const empty = await town.summary();
  assert.deepEqual(Object.keys(empty.agents_by_state), [...AGENT_STATES]);
  assert.deepEqual(Object.keys(empty.tasks_by_state), [...TASK_STATES]);
  assert.ok(Object.values(empty.agents_by_state).every((n) => n === 0));
  await town.spawnAgent({ name: 'a' });
  await town.spawnAgent({ name: 'b' });
  await town.killAgent('b'); // one urgent shutdown message
  await town.addBacklog({ description: 'x' });
  await town.assignTask('a', 'y'); // one task_assign message
  const s = await town.summary();
  assert.equal(s.name, 'sum');
  assert.equal(s.agents, 2);
  assert.deepEqual([s.agents_by_state.starting, s.agents_by_state.stopped, s.agents_by_state.idle], [1, 1, 0]);
  assert.deepEqual([s.tasks_by_state.pending, s.tasks_by_state.assigned, s.tasks_by_state.completed], [1, 1, 0]);
  assert.deepEqual([s.backlog, s.urgent_messages, s.messages], [1, 1, 2]);
});

// The whole-town counts come from the store's derived indexes: neither the
// summary nor the scaling hint ever walks the tasks or the messages, and the
// agent list (small) is walked once per committed write, not per request.
// Every write must still show at once.
test('summary and scaling never scan tasks or messages, reflect each write at once, and are reused between writes', async () => {
  const { town, store } = makeTown();
  const listed: string[] = [];
  const read = store.read.bind(store);
  store.read = (fn) =>
    read((tx) =>
      fn({
        get: (c, id) => tx.get(c, id),
        count: (c) => tx.count(c),
        ids: (c) => tx.ids(c),
        index: (d) => tx.index(d),
        list: (c) => {
          listed.push(c);
          return tx.list(c);
        },
      }),
    );
  await town.spawnAgent({ name: 'w' });
  await town.addBacklog({ description: 'a' });
  await town.sendMessage({ to: 'w', message: 'hi' });
  assert.equal((await town.summary()).backlog, 1);
  const before = listed.length;
  await town.summary();
  await town.scaling();
  const afterFirstScaling = listed.length;
  await town.scaling();
  assert.equal(listed.length, afterFirstScaling, 'a repeated scaling does not scan again');
  assert.ok(afterFirstScaling - before <= 1, 'the repeated summary did not scan; scaling listed the agents once');
  await town.addBacklog({ description: 'b' });
  assert.equal((await town.summary()).backlog, 2);
  assert.equal((await town.scaling()).queue_depth, 2);
  assert.deepEqual(listed.filter((c) => c !== 'agents'), [], 'only the agents were ever listed');
});
