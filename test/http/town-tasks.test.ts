// Tasks through the real server: the full worker flow (claim, inbox, heartbeat,
// start, complete/fail and the supervisor's task_done/task_failed), direct
// assignment, listing and filters, and the 409s of illegal transitions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseAuditLine, startTestServer, type TestServer } from '../helpers/server.js';
import { assertProblem, pointers } from '../helpers/assertions.js';

const T0 = Date.parse('2026-11-26T12:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const TASK_FIELDS = [
  'assigned_to', 'completed_at', 'created_at', 'description', 'id', 'result', 'started_at', 'state', 'tags', 'task_id', 'updated_at',
].sort();

describe('the worker flow over HTTP', () => {
  let s: TestServer;
  let now = T0;
  let worker: any;
  let taskA: any;
  let taskB: any;
  before(async () => {
    s = await startTestServer({ clock: { now: () => now } });
  });
  after(() => s.close());

  test('create an agent and add a backlog task', async () => {
    worker = (await s.request('POST', '/v1/agents', { body: { name: 'w1' } })).json;
    assert.equal(worker.state, 'starting');
    now = T0 + 1000;
    const r = await s.request('POST', '/v1/backlog', { body: { description: 'build the bridge', tags: ['infra', 'urgent'] } });
    assert.equal(r.status, 201, r.text);
    taskA = r.json;
    assert.deepEqual(Object.keys(taskA).sort(), TASK_FIELDS);
    assert.equal(taskA.task_id, taskA.id);
    assert.equal(taskA.state, 'pending');
    assert.equal(taskA.assigned_to, null);
    assert.deepEqual(taskA.tags, ['infra', 'urgent']);
    assert.equal(taskA.created_at, iso(T0 + 1000));
    assert.equal(taskA.updated_at, iso(T0 + 1000));
    assert.equal(taskA.started_at, null);
    assert.equal(taskA.completed_at, null);
    assert.equal(taskA.result, null);
  });

  test('claim assigns the task from the supervisor and queues a task_assign', async () => {
    now = T0 + 2000;
    const r = await s.request('POST', `/v1/backlog/${taskA.id}/claim`, { body: { agent: 'w1' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.task_id, taskA.id);
    assert.equal(r.json.state, 'assigned');
    assert.equal(r.json.assigned_to, worker.id);
    assert.equal(r.json.agent_id, worker.id);
    assert.equal(r.json.agent_name, 'w1');
    assert.equal(r.json.updated_at, iso(T0 + 2000));
    const backlog = await s.request('GET', '/v1/backlog');
    assert.deepEqual(backlog.json.backlog, []);
    const pending = await s.request('GET', '/v1/tasks/pending');
    assert.deepEqual(pending.json.tasks.map((t: any) => t.id), [taskA.id]);
    const inbox = await s.request('GET', '/v1/agents/w1/inbox');
    assert.equal(inbox.json.total, 1);
    const [m] = inbox.json.messages;
    assert.equal(m.kind, 'task_assign');
    assert.equal(m.task_id, taskA.id);
    assert.equal(m.from, 'supervisor');
    assert.equal(m.to, 'w1');
    assert.equal(m.body, 'build the bridge');
  });

  test('the worker takes its task_assign with inbox/next', async () => {
    const r = await s.request('POST', '/v1/agents/w1/inbox/next');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.kind, 'task_assign');
    assert.equal(r.json.task_id, taskA.id);
    assert.equal(r.json.message_id, r.json.id);
    assert.equal((await s.request('POST', '/v1/agents/w1/inbox/next')).status, 204);
  });

  test('heartbeat then start: task running, agent working with current_task', async () => {
    now = T0 + 3000;
    assert.equal((await s.request('POST', '/v1/agents/w1/heartbeat', { body: { state: 'idle' } })).json.state, 'idle');
    now = T0 + 4000;
    const r = await s.request('POST', `/v1/tasks/${taskA.id}/start`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'running');
    assert.equal(r.json.started_at, iso(T0 + 4000));
    assert.equal(r.json.task_id, taskA.id);
    const agent = (await s.request('GET', '/v1/agents/w1')).json;
    assert.equal(agent.state, 'working');
    assert.equal(agent.current_task, taskA.id);
    assert.equal(agent.last_active_at, iso(T0 + 4000));
    assert.deepEqual((await s.request('GET', '/v1/tasks/pending')).json.tasks, [], 'a started task is no longer pending');
  });

  test('starting a running task is a 409 with current_state', async () => {
    const r = await s.request('POST', `/v1/tasks/${taskA.id}/start`);
    assertProblem(r, 409, 'town.task_state');
    assert.equal(r.json.current_state, 'running');
  });

  test('complete: task completed with result; agent idle, current_task cleared, tasks_completed 1; supervisor gets task_done', async () => {
    now = T0 + 5000;
    const r = await s.request('POST', `/v1/tasks/${taskA.id}/complete`, { body: { result: 'bridge built' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'completed');
    assert.equal(r.json.result, 'bridge built');
    assert.equal(r.json.completed_at, iso(T0 + 5000));
    assert.equal(r.json.started_at, iso(T0 + 4000));
    const stored = (await s.request('GET', `/v1/tasks/${taskA.id}`)).json;
    assert.deepEqual(stored, r.json, 'the answer is the stored record');
    const agent = (await s.request('GET', '/v1/agents/w1')).json;
    assert.equal(agent.state, 'idle');
    assert.equal(agent.current_task, null);
    assert.equal(agent.tasks_completed, 1);
    for (const box of ['supervisor', 'conductor']) {
      const inbox = await s.request('GET', `/v1/agents/${box}/inbox`);
      assert.equal(inbox.status, 200);
      assert.equal(inbox.json.agent, 'supervisor');
      assert.equal(inbox.json.total, 1);
      const [m] = inbox.json.messages;
      assert.equal(m.kind, 'task_done');
      assert.equal(m.task_id, taskA.id);
      assert.equal(m.from, 'w1');
      assert.equal(m.to, 'supervisor');
      assert.match(m.body, /bridge built/);
    }
  });

  test('finishing a finished task is a 409 with current_state; the task is unchanged', async () => {
    for (const [verb, body] of [['complete', { result: 'again' }], ['fail', { error: 'late' }], ['start', undefined]] as const) {
      const r = await s.request('POST', `/v1/tasks/${taskA.id}/${verb}`, { body });
      assertProblem(r, 409, 'town.task_state');
      assert.equal(r.json.current_state, 'completed');
    }
    const stored = (await s.request('GET', `/v1/tasks/${taskA.id}`)).json;
    assert.equal(stored.result, 'bridge built');
    assert.equal((await s.request('GET', '/v1/agents/w1')).json.tasks_completed, 1);
  });

  test('POST /v1/tasks/assign creates an assigned task (201) with task_id, agent_id, agent_name', async () => {
    now = T0 + 6000;
    const r = await s.request('POST', '/v1/tasks/assign', { body: { agent: worker.id, task: 'paint the bridge' } });
    assert.equal(r.status, 201, r.text);
    taskB = r.json;
    assert.equal(taskB.task_id, taskB.id);
    assert.equal(taskB.state, 'assigned');
    assert.equal(taskB.assigned_to, worker.id);
    assert.equal(taskB.agent_id, worker.id);
    assert.equal(taskB.agent_name, 'w1');
    assert.equal(taskB.description, 'paint the bridge');
    assert.deepEqual(taskB.tags, []);
    assert.equal(taskB.created_at, iso(T0 + 6000));
    const next = await s.request('POST', '/v1/agents/w1/inbox/next');
    assert.equal(next.json.kind, 'task_assign');
    assert.equal(next.json.task_id, taskB.id);
    assert.deepEqual((await s.request('GET', '/v1/tasks/pending')).json.tasks.map((t: any) => t.id), [taskB.id]);
  });

  test('fail: task failed with the error; agent idle, tasks_completed unchanged; supervisor gets task_failed', async () => {
    await s.request('POST', `/v1/tasks/${taskB.id}/start`);
    assert.equal((await s.request('GET', '/v1/agents/w1')).json.state, 'working');
    now = T0 + 7000;
    const r = await s.request('POST', `/v1/tasks/${taskB.id}/fail`, { body: { error: 'out of paint' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'failed');
    assert.equal(r.json.result, 'out of paint');
    assert.equal(r.json.completed_at, iso(T0 + 7000));
    const agent = (await s.request('GET', '/v1/agents/w1')).json;
    assert.equal(agent.state, 'idle');
    assert.equal(agent.current_task, null);
    assert.equal(agent.tasks_completed, 1);
    const inbox = await s.request('GET', '/v1/agents/supervisor/inbox');
    assert.deepEqual(inbox.json.messages.map((m: any) => m.kind), ['task_done', 'task_failed']);
    assert.equal(inbox.json.messages[1].task_id, taskB.id);
    assert.equal(inbox.json.messages[1].from, 'w1');
    const popped = await s.request('POST', '/v1/agents/supervisor/inbox/next');
    assert.equal(popped.json.kind, 'task_done');
    const popped2 = await s.request('POST', '/v1/agents/conductor/inbox/next');
    assert.equal(popped2.json.kind, 'task_failed');
    assert.equal((await s.request('POST', '/v1/agents/supervisor/inbox/next')).status, 204);
  });

  test('a pending backlog task cannot be started, completed or failed (409 current_state pending)', async () => {
    const t = (await s.request('POST', '/v1/backlog', { body: { description: 'not yet' } })).json;
    for (const [verb, body] of [['start', undefined], ['complete', { result: 'x' }], ['fail', { error: 'x' }]] as const) {
      const r = await s.request('POST', `/v1/tasks/${t.id}/${verb}`, { body });
      assertProblem(r, 409, 'town.task_state');
      assert.equal(r.json.current_state, 'pending');
    }
    const stored = (await s.request('GET', `/v1/tasks/${t.id}`)).json;
    assert.equal(stored.state, 'pending');
    assert.equal((await s.request('GET', '/v1/backlog')).json.total, 1);
  });

  test('unknown tasks are 404 on every task route', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    assertProblem(await s.request('GET', `/v1/tasks/${id}`), 404, 'town.task_not_found');
    assertProblem(await s.request('POST', `/v1/tasks/${id}/start`), 404, 'town.task_not_found');
    assertProblem(await s.request('POST', `/v1/tasks/${id}/complete`, { body: { result: 'r' } }), 404, 'town.task_not_found');
    assertProblem(await s.request('POST', `/v1/tasks/${id}/fail`, { body: { error: 'e' } }), 404, 'town.task_not_found');
  });

  test('complete and fail require their text field (422 with pointer); an empty result is allowed', async () => {
    const t = (await s.request('POST', '/v1/tasks/assign', { body: { agent: 'w1', task: 'fields' } })).json;
    const noResult = await s.request('POST', `/v1/tasks/${t.id}/complete`, { body: {} });
    assertProblem(noResult, 422, 'body.invalid');
    assert.deepEqual(pointers(noResult), ['/result']);
    const noError = await s.request('POST', `/v1/tasks/${t.id}/fail`, { body: { result: 'wrong field' } });
    assertProblem(noError, 422, 'body.invalid');
    assert.deepEqual(pointers(noError), ['/error', '/result']);
    assert.equal((await s.request('GET', `/v1/tasks/${t.id}`)).json.state, 'assigned');
    await s.request('POST', `/v1/tasks/${t.id}/start`);
    const empty = await s.request('POST', `/v1/tasks/${t.id}/complete`, { body: { result: '' } });
    assert.equal(empty.status, 200);
    assert.equal(empty.json.result, '');
    assert.equal((await s.request('GET', '/v1/agents/w1')).json.tasks_completed, 2);
  });

  test('each worker-flow mutation is audited once with its status', async () => {
    const t = (await s.request('POST', '/v1/tasks/assign', { body: { agent: 'w1', task: 'audit me' } })).json;
    const cases: Array<[string, unknown, number]> = [
      [`/v1/tasks/${t.id}/start`, undefined, 200],
      [`/v1/tasks/${t.id}/start`, undefined, 409],
      [`/v1/tasks/${t.id}/complete`, { result: 'ok' }, 200],
      [`/v1/tasks/${t.id}/fail`, { error: 'no' }, 409],
    ];
    for (const [i, [path, body, status]] of cases.entries()) {
      const id = `tasks-audit-${i}`;
      assert.equal((await s.request('POST', path, { body, headers: { 'x-request-id': id } })).status, status);
      const lines = s.audit.filter((l) => l.includes(`"${id}"`)).map(parseAuditLine);
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!['status'], String(status));
      assert.equal(lines[0]!['path'], path);
    }
  });
});

describe('assign and list tasks over HTTP', () => {
  let s: TestServer;
  const ids: Record<string, string> = {};
  before(async () => {
    s = await startTestServer();
    for (const name of ['ann', 'ben', 'dead']) await s.request('POST', '/v1/agents', { body: { name } });
    await s.request('POST', '/v1/agents/dead/kill');
  });
  after(() => s.close());

  test('assign errors: unknown agent 404, stopped agent 409, invalid body 422; nothing is created', async () => {
    assertProblem(await s.request('POST', '/v1/tasks/assign', { body: { agent: 'nobody', task: 'x' } }), 404, 'town.agent_not_found');
    const stopped = await s.request('POST', '/v1/tasks/assign', { body: { agent: 'dead', task: 'x' } });
    assertProblem(stopped, 409, 'town.agent_state');
    assert.equal(stopped.json.current_state, 'stopped');
    const invalid = await s.request('POST', '/v1/tasks/assign', { body: { agent: '', task: '', extra: 1 } });
    assertProblem(invalid, 422, 'body.invalid');
    assert.deepEqual(pointers(invalid), ['/agent', '/extra', '/task']);
    const missing = await s.request('POST', '/v1/tasks/assign', { body: { agent: 'ann' } });
    assert.deepEqual(pointers(missing), ['/task']);
    assert.equal((await s.request('GET', '/v1/tasks')).json.total, 0);
    assertProblem(await s.request('POST', '/v1/tasks/assign', { body: '{"agent"', headers: { 'content-type': 'application/json' } }), 400, 'body.malformed_json');
    assertProblem(await s.request('POST', '/v1/tasks/assign', { body: 'agent=ann', headers: { 'content-type': 'text/plain' } }), 415, 'body.unsupported_media_type');
  });

  test('GET /v1/tasks filters by state, agent (name or id) and tag', async () => {
    ids['a1'] = (await s.request('POST', '/v1/tasks/assign', { body: { agent: 'ann', task: 'a1' } })).json.id;
    ids['b1'] = (await s.request('POST', '/v1/tasks/assign', { body: { agent: 'ben', task: 'b1' } })).json.id;
    ids['q1'] = (await s.request('POST', '/v1/backlog', { body: { description: 'q1', tags: ['docs'] } })).json.id;
    ids['q2'] = (await s.request('POST', '/v1/backlog', { body: { description: 'q2', tags: ['docs', 'web'] } })).json.id;
    await s.request('POST', `/v1/tasks/${ids['a1']}/start`);

    const all = await s.request('GET', '/v1/tasks');
    assert.deepEqual(Object.keys(all.json).sort(), ['count', 'next_cursor', 'tasks', 'total']);
    assert.deepEqual(all.json.tasks.map((t: any) => t.description), ['a1', 'b1', 'q1', 'q2'], 'creation order');
    assert.equal(all.json.count, 4);
    assert.equal(all.json.total, 4);
    const desc = async (q: string): Promise<string[]> => {
      const r = await s.request('GET', `/v1/tasks?${q}`);
      assert.equal(r.status, 200, `${q}: ${r.text}`);
      assert.equal(r.json.total, r.json.tasks.length);
      return r.json.tasks.map((t: any) => t.description);
    };
    assert.deepEqual(await desc('state=pending'), ['q1', 'q2']);
    assert.deepEqual(await desc('state=running'), ['a1']);
    assert.deepEqual(await desc('state=assigned'), ['b1']);
    assert.deepEqual(await desc('state=completed'), []);
    assert.deepEqual(await desc('agent=ann'), ['a1']);
    assert.deepEqual(await desc('agent=BEN'), ['b1']);
    const ben = (await s.request('GET', '/v1/agents/ben')).json.id;
    assert.deepEqual(await desc(`agent=${ben}`), ['b1']);
    assert.deepEqual(await desc('tag=docs'), ['q1', 'q2']);
    assert.deepEqual(await desc('tag=web'), ['q2']);
    assert.deepEqual(await desc('tag=web&state=pending'), ['q2']);
    assert.deepEqual(await desc('agent=ann&state=assigned'), []);
  });

  test('GET /v1/tasks/pending lists only assigned, unstarted tasks (not /v1/tasks/{id})', async () => {
    const r = await s.request('GET', '/v1/tasks/pending');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.tasks.map((t: any) => t.id), [ids['b1']]);
    assert.equal(r.json.count, 1);
    assert.equal(r.json.total, 1);
    assert.equal(r.json.next_cursor, null);
  });

  test('filter errors: unknown state 422 with pointer, unknown agent 404', async () => {
    const bad = await s.request('GET', '/v1/tasks?state=done');
    assertProblem(bad, 422, 'query.invalid');
    assert.deepEqual(pointers(bad), ['/state']);
    assertProblem(await s.request('GET', '/v1/tasks?agent=nobody'), 404, 'town.agent_not_found');
  });

  test(
    'declared query bounds are enforced: a tag over 64 characters is a 422',
    async () => {
      const r = await s.request('GET', `/v1/tasks?tag=${'x'.repeat(65)}`);
      assertProblem(r, 422, 'query.invalid');
      assert.deepEqual(pointers(r), ['/tag']);
    },
  );

  test('a start for a task whose agent is stopped is a 409 and changes nothing', async () => {
    const t = (await s.request('POST', '/v1/tasks/assign', { body: { agent: 'ben', task: 'later' } })).json;
    await s.request('POST', '/v1/agents/ben/kill');
    const r = await s.request('POST', `/v1/tasks/${t.id}/start`);
    assertProblem(r, 409, 'town.agent_state');
    assert.equal(r.json.current_state, 'stopped');
    assert.equal((await s.request('GET', `/v1/tasks/${t.id}`)).json.state, 'assigned');
    assert.equal((await s.request('GET', '/v1/agents/ben')).json.state, 'stopped');
  });
});
