// Recovering work through the real server: recover (silent agents stopped, on
// a fake clock), reclaim (list-only without a destination, to the backlog, to
// another agent, and its errors), and orphan-tasks (list, to_backlog, cancel).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseAuditLine, startTestServer, type TestServer } from '../helpers/server.js';
import { assertProblem, pointers } from '../helpers/assertions.js';

const T0 = Date.parse('2026-11-26T12:00:00.000Z');

async function stateOf(s: TestServer, name: string): Promise<string> {
  return (await s.request('GET', `/v1/agents/${name}`)).json.state;
}

/** Everything a reclaim could touch, read back over HTTP. */
async function snapshot(s: TestServer, mailboxes: readonly string[]): Promise<unknown> {
  const out: Record<string, unknown> = {
    agents: (await s.request('GET', '/v1/agents')).json,
    tasks: (await s.request('GET', '/v1/tasks')).json,
    backlog: (await s.request('GET', '/v1/backlog')).json,
  };
  for (const m of mailboxes) out[`inbox:${m}`] = (await s.request('GET', `/v1/agents/${m}/inbox`)).json;
  return out;
}

describe('recover over HTTP', () => {
  let s: TestServer;
  let now = T0;
  before(async () => {
    s = await startTestServer({ clock: { now: () => now }, toml: '[townhall]\nheartbeat_timeout_secs = 60\n' });
    for (const name of ['beater', 'silent', 'recent', 'napper', 'dead']) {
      assert.equal((await s.request('POST', '/v1/agents', { body: { name } })).status, 201);
    }
    await s.request('POST', '/v1/agents/beater/heartbeat', { body: { state: 'working' } });
    await s.request('POST', '/v1/agents/napper/heartbeat', { body: { state: 'paused' } });
    await s.request('POST', '/v1/agents/dead/kill');
  });
  after(() => s.close());

  test('nothing is recovered before the timeout', async () => {
    now = T0 + 60_000;
    const r = await s.request('POST', '/v1/recover');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { checked: 5, recovered: 0, agents: [] });
    assert.equal(await stateOf(s, 'beater'), 'working');
    assert.equal(await stateOf(s, 'silent'), 'starting');
  });

  test('agents silent past heartbeat_timeout_secs become stopped; never-beaten ones judged by creation time', async () => {
    now = T0 + 50_000;
    await s.request('POST', '/v1/agents/recent/heartbeat', { body: { state: 'idle' } });
    now = T0 + 61_000;
    const r = await s.request('POST', '/v1/recover');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { checked: 5, recovered: 2, agents: ['beater', 'silent'] });
    assert.equal(await stateOf(s, 'beater'), 'stopped');
    assert.equal(await stateOf(s, 'silent'), 'stopped');
    assert.equal(await stateOf(s, 'recent'), 'idle', 'heartbeat 11 s ago');
    assert.equal(await stateOf(s, 'napper'), 'paused', 'paused agents are not watched');
    assert.equal(await stateOf(s, 'dead'), 'stopped');
  });

  test('a second recover finds nothing new; later the recent one goes too', async () => {
    assert.deepEqual((await s.request('POST', '/v1/recover')).json, { checked: 5, recovered: 0, agents: [] });
    now = T0 + 111_000;
    assert.deepEqual((await s.request('POST', '/v1/recover', { body: {} })).json, { checked: 5, recovered: 1, agents: ['recent'] });
    assert.equal(await stateOf(s, 'napper'), 'paused');
  });

  test('a restarted agent gets a full timeout again', async () => {
    await s.request('POST', '/v1/agents/silent/restart');
    now = T0 + 150_000;
    assert.deepEqual((await s.request('POST', '/v1/recover')).json, { checked: 5, recovered: 0, agents: [] });
    assert.equal(await stateOf(s, 'silent'), 'idle');
    now = T0 + 172_000;
    assert.deepEqual((await s.request('POST', '/v1/recover')).json, { checked: 5, recovered: 1, agents: ['silent'] });
  });

  test('recover is audited once per call', async () => {
    await s.request('POST', '/v1/recover', { headers: { 'x-request-id': 'recover-ok' } });
    await s.request('POST', '/v1/recover', { body: '{', headers: { 'x-request-id': 'recover-bad', 'content-type': 'application/json' } });
    const lines = s.audit.filter((l) => l.includes('"recover-')).map(parseAuditLine);
    assert.deepEqual(lines.map((l) => [l['client_request_id'], l['status'], l['path'], l['principal']]), [
      ['recover-ok', '200', '/v1/recover', 'local'],
      ['recover-bad', '400', '/v1/recover', 'local'],
    ]);
  });

  test(
    'routes without a body schema reject body fields (422)',
    async () => {
      const bad = await s.request('POST', '/v1/recover', { body: { force: true } });
      assertProblem(bad, 422, 'body.invalid');
      assert.deepEqual(pointers(bad), ['/force']);
    },
  );
});

describe('reclaim over HTTP', () => {
  let s: TestServer;
  const MAILBOXES = ['dead1', 'dead2', 'live', 'supervisor'];
  const t: Record<string, string> = {};
  let live: any;
  let dead1: any;
  before(async () => {
    s = await startTestServer();
    dead1 = (await s.request('POST', '/v1/agents', { body: { name: 'dead1' } })).json;
    await s.request('POST', '/v1/agents', { body: { name: 'dead2' } });
    live = (await s.request('POST', '/v1/agents', { body: { name: 'live' } })).json;
    const assign = async (agent: string, task: string): Promise<string> =>
      (await s.request('POST', '/v1/tasks/assign', { body: { agent, task } })).json.id;
    t['t1'] = await assign('dead1', 't1');
    t['t2'] = await assign('dead1', 't2');
    t['t3'] = await assign('dead1', 't3');
    t['t4'] = await assign('dead2', 't4');
    t['b0'] = (await s.request('POST', '/v1/backlog', { body: { description: 'b0' } })).json.id;
    await s.request('POST', `/v1/tasks/${t['t3']}/start`);
    await s.request('POST', `/v1/tasks/${t['t3']}/complete`, { body: { result: 'ok' } });
    await s.request('POST', `/v1/tasks/${t['t2']}/start`);
    // dead1's worker took its task_assigns before it died; only the note and the shutdown stay queued.
    while ((await s.request('POST', '/v1/agents/dead1/inbox/next')).status === 200) continue;
    await s.request('POST', '/v1/messages/send', { body: { to: 'dead1', message: 'note for dead1', kind: 'info' } });
    await s.request('POST', '/v1/agents/dead1/kill');
    await s.request('POST', '/v1/agents/dead2/kill');
  });
  after(() => s.close());

  test('without a destination it lists the unfinished tasks of stopped agents and changes nothing', async () => {
    const before = await snapshot(s, MAILBOXES);
    const r = await s.request('POST', '/v1/reclaim', { body: {} });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { reclaimed: 3, destination: 'none', tasks: [t['t1'], t['t2'], t['t4']] });
    const noBody = await s.request('POST', '/v1/reclaim');
    assert.deepEqual(noBody.json, r.json);
    const fromOnly = await s.request('POST', '/v1/reclaim', { body: { from: 'dead2', to_backlog: false } });
    assert.deepEqual(fromOnly.json, { reclaimed: 1, destination: 'none', tasks: [t['t4']] });
    assert.deepEqual(await snapshot(s, MAILBOXES), before);
  });

  test('errors change nothing: unknown to/from 404, live from 409, stopped to 409, to with to_backlog 422', async () => {
    const before = await snapshot(s, MAILBOXES);
    assertProblem(await s.request('POST', '/v1/reclaim', { body: { to: 'nobody' } }), 404, 'town.agent_not_found');
    assertProblem(await s.request('POST', '/v1/reclaim', { body: { from: 'nobody', to_backlog: true } }), 404, 'town.agent_not_found');
    const liveFrom = await s.request('POST', '/v1/reclaim', { body: { from: 'live', to_backlog: true } });
    assertProblem(liveFrom, 409, 'town.agent_state');
    assert.equal(liveFrom.json.current_state, 'starting');
    const deadTo = await s.request('POST', '/v1/reclaim', { body: { to: 'dead2', from: 'dead1' } });
    assertProblem(deadTo, 409, 'town.agent_state');
    assert.equal(deadTo.json.current_state, 'stopped');
    const both = await s.request('POST', '/v1/reclaim', { body: { to: 'live', to_backlog: true } });
    assertProblem(both, 422, 'body.invalid');
    assert.deepEqual(pointers(both), ['/to']);
    const invalid = await s.request('POST', '/v1/reclaim', { body: { to_backlog: 'yes', where: 'x' } });
    assertProblem(invalid, 422, 'body.invalid');
    assert.deepEqual(pointers(invalid), ['/to_backlog', '/where']);
    assert.deepEqual(await snapshot(s, MAILBOXES), before);
  });

  test('to_backlog: tasks go back to pending at the end of the backlog with no assignee; their task_assigns go, other messages stay put', async () => {
    const dead2Inbox = (await s.request('GET', '/v1/agents/dead2/inbox')).json;
    const r = await s.request('POST', '/v1/reclaim', { body: { from: 'dead2', to_backlog: true } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { reclaimed: 1, destination: 'backlog', tasks: [t['t4']] });
    const task = (await s.request('GET', `/v1/tasks/${t['t4']}`)).json;
    assert.equal(task.state, 'pending');
    assert.equal(task.assigned_to, null);
    assert.equal(task.started_at, null);
    assert.deepEqual((await s.request('GET', '/v1/backlog')).json.backlog.map((x: any) => x.id), [t['b0'], t['t4']]);
    const after = (await s.request('GET', '/v1/agents/dead2/inbox')).json;
    const stale = (m: any): boolean => m.kind === 'task_assign' && m.task_id === t['t4'];
    assert.ok(dead2Inbox.messages.some(stale), 'the reclaimed task had a queued assignment');
    assert.deepEqual(after.messages, dead2Inbox.messages.filter((m: any) => !stale(m)));
    assert.equal(await stateOf(s, 'dead2'), 'stopped');
  });

  test('to an agent: tasks assigned to it with fresh task_assigns; other messages move, shutdown stays', async () => {
    const r = await s.request('POST', '/v1/reclaim', { body: { from: dead1.id, to: 'LIVE' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { reclaimed: 2, destination: 'agent:live', tasks: [t['t1'], t['t2']] });
    for (const id of [t['t1'], t['t2']]) {
      const task = (await s.request('GET', `/v1/tasks/${id}`)).json;
      assert.equal(task.state, 'assigned', 'a running task is handed over as assigned');
      assert.equal(task.assigned_to, live.id);
      assert.equal(task.started_at, null);
    }
    assert.equal((await s.request('GET', `/v1/tasks/${t['t3']}`)).json.state, 'completed', 'finished work stays');
    const liveInbox = (await s.request('GET', '/v1/agents/live/inbox')).json;
    assert.deepEqual(
      liveInbox.messages.map((m: any) => [m.kind, m.task_id ?? m.body]),
      [['info', 'note for dead1'], ['task_assign', t['t1']], ['task_assign', t['t2']]],
    );
    for (const m of liveInbox.messages) assert.equal(m.to, 'live');
    const deadInbox = (await s.request('GET', '/v1/agents/dead1/inbox')).json;
    assert.deepEqual(deadInbox.messages.map((m: any) => m.kind), ['shutdown']);
    const agent = (await s.request('GET', '/v1/agents/dead1')).json;
    assert.equal(agent.state, 'stopped');
    assert.equal(agent.current_task, null, 'the reclaimed running task is no longer its current task');
    assert.deepEqual((await s.request('POST', '/v1/reclaim', { body: {} })).json, { reclaimed: 0, destination: 'none', tasks: [] });
  });

  test('the new owner can run a reclaimed task to completion', async () => {
    assert.equal((await s.request('POST', `/v1/tasks/${t['t2']}/start`)).status, 200);
    assert.equal((await s.request('POST', `/v1/tasks/${t['t2']}/complete`, { body: { result: 'rescued' } })).status, 200);
    const agent = (await s.request('GET', '/v1/agents/live')).json;
    assert.equal(agent.tasks_completed, 1);
    assert.equal(agent.state, 'idle');
  });
});

describe('orphan tasks over HTTP', () => {
  let s: TestServer;
  const t: Record<string, string> = {};
  before(async () => {
    s = await startTestServer();
    for (const name of ['o1', 'o2', 'o3']) await s.request('POST', '/v1/agents', { body: { name } });
    const assign = async (agent: string, task: string): Promise<string> =>
      (await s.request('POST', '/v1/tasks/assign', { body: { agent, task } })).json.id;
    t['x1'] = await assign('o1', 'x1');
    t['x2'] = await assign('o2', 'x2');
    t['x3'] = await assign('o2', 'x3');
    t['x4'] = await assign('o3', 'x4');
    await s.request('POST', `/v1/tasks/${t['x2']}/start`);
    await s.request('POST', '/v1/agents/o1/kill');
    assert.deepEqual((await s.request('POST', '/v1/agents/prune')).json.agents, ['o1']);
    await s.request('POST', '/v1/agents/o2/kill');
  });
  after(() => s.close());

  test('list finds unfinished tasks of gone or stopped agents and changes nothing', async () => {
    const tasksBefore = (await s.request('GET', '/v1/tasks')).json;
    const r = await s.request('POST', '/v1/reclaim/orphan-tasks', { body: { action: 'list' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.action, 'list');
    assert.equal(r.json.count, 3);
    assert.deepEqual(r.json.tasks.map((x: any) => x.id), [t['x1'], t['x2'], t['x3']]);
    assert.deepEqual(r.json.tasks, tasksBefore.tasks.slice(0, 3), 'full task records');
    assert.deepEqual((await s.request('GET', '/v1/tasks')).json, tasksBefore);
  });

  test('an unknown or missing action is a 422 with pointer /action', async () => {
    for (const body of [{ action: 'delete' }, { action: 'LIST' }, {}]) {
      const r = await s.request('POST', '/v1/reclaim/orphan-tasks', { body });
      assertProblem(r, 422, 'body.invalid');
      assert.deepEqual(pointers(r), ['/action']);
    }
  });

  test('to_backlog puts every orphan back in the backlog, in order, unassigned', async () => {
    const r = await s.request('POST', '/v1/reclaim/orphan-tasks', { body: { action: 'to_backlog' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.action, 'to_backlog');
    assert.equal(r.json.count, 3);
    for (const x of r.json.tasks) {
      assert.equal(x.state, 'pending');
      assert.equal(x.assigned_to, null);
    }
    assert.deepEqual((await s.request('GET', '/v1/backlog')).json.backlog.map((x: any) => x.id), [t['x1'], t['x2'], t['x3']]);
    assert.equal((await s.request('GET', '/v1/agents/o2')).json.current_task, null);
    assert.equal((await s.request('GET', `/v1/tasks/${t['x4']}`)).json.state, 'assigned', 'a live agent keeps its task');
    assert.equal((await s.request('POST', '/v1/reclaim/orphan-tasks', { body: { action: 'list' } })).json.count, 0);
  });

  test('cancel cancels every orphan', async () => {
    t['x5'] = (await s.request('POST', '/v1/tasks/assign', { body: { agent: 'o3', task: 'x5' } })).json.id;
    await s.request('POST', '/v1/agents/o3/kill');
    const r = await s.request('POST', '/v1/reclaim/orphan-tasks', { body: { action: 'cancel' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.action, 'cancel');
    assert.deepEqual(r.json.tasks.map((x: any) => [x.id, x.state]), [[t['x4'], 'cancelled'], [t['x5'], 'cancelled']]);
    for (const id of [t['x4'], t['x5']]) assert.equal((await s.request('GET', `/v1/tasks/${id}`)).json.state, 'cancelled');
    assert.equal((await s.request('GET', '/v1/backlog')).json.total, 3, 'the backlog is untouched');
    assert.deepEqual((await s.request('POST', '/v1/reclaim/orphan-tasks', { body: { action: 'list' } })).json, { action: 'list', count: 0, tasks: [] });
  });
});
