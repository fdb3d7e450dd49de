// The agent endpoints through the real server: spawn, get, list, heartbeat,
// kill, restart, prune, /v1/town and /v1/status, with every error status they
// can answer and the audit line each mutation leaves.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseAuditLine, startTestServer, type TestServer } from '../helpers/server.js';
import { assertProblem, pointers } from '../helpers/assertions.js';

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const T0 = Date.parse('2026-11-26T12:00:00.000Z');
const AGENT_FIELDS = [
  'agent_id', 'cli', 'created_at', 'current_task', 'id', 'last_active_at', 'last_heartbeat',
  'name', 'nickname', 'parent_agent_id', 'role_id', 'state', 'tasks_completed',
].sort();

/** The distinct pointers of a 422 (one field may break several rules). */
describe('agents over HTTP', () => {
  let s: TestServer;
  let now = T0;
  before(async () => {
    s = await startTestServer({
      clock: { now: () => now },
      toml: 'name = "testville"\ndefault_cli = "codex"\nmax_agents = 7\n[townhall]\nmax_body_bytes = 256\nheartbeat_timeout_secs = 90\n',
    });
  });
  after(() => s.close());

  let alice: any;

  test('POST /v1/agents answers 201 with the full record and agent_id', async () => {
    const r = await s.request('POST', '/v1/agents', { body: { name: 'alice', nickname: 'Al', role_id: 'builder' } });
    assert.equal(r.status, 201, r.text);
    alice = r.json;
    assert.deepEqual(Object.keys(alice).sort(), AGENT_FIELDS);
    assert.match(alice.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(alice.agent_id, alice.id);
    assert.equal(alice.name, 'alice');
    assert.equal(alice.cli, 'codex', 'cli defaults to default_cli from tinytown.toml');
    assert.equal(alice.nickname, 'Al');
    assert.equal(alice.role_id, 'builder');
    assert.equal(alice.parent_agent_id, null);
    assert.equal(alice.state, 'starting');
    assert.equal(alice.current_task, null);
    assert.equal(alice.tasks_completed, 0);
    assert.equal(alice.created_at, '2026-11-26T12:00:00.000Z');
    assert.match(alice.created_at, TS);
    assert.equal(alice.last_heartbeat, null);
    assert.equal(alice.last_active_at, null);
  });

  test('an explicit cli and a parent named by name are stored (parent as its id)', async () => {
    const r = await s.request('POST', '/v1/agents', { body: { name: 'bob', cli: 'claude', parent_agent_id: 'alice' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.cli, 'claude');
    assert.equal(r.json.parent_agent_id, alice.id);
    const byId = await s.request('POST', '/v1/agents', { body: { name: 'bob-jr', parent_agent_id: r.json.id } });
    assert.equal(byId.status, 201);
    assert.equal(byId.json.parent_agent_id, r.json.id);
  });

  test('an unknown parent is a 404 and creates nothing', async () => {
    const r = await s.request('POST', '/v1/agents', { body: { name: 'orphan', parent_agent_id: 'nobody' } });
    assertProblem(r, 404, 'town.agent_not_found');
    assertProblem(await s.request('GET', '/v1/agents/orphan'), 404, 'town.agent_not_found');
  });

  test('a duplicate name is a 409, regardless of case, and the first agent is unchanged', async () => {
    for (const name of ['alice', 'ALICE', 'Alice']) {
      const r = await s.request('POST', '/v1/agents', { body: { name } });
      assertProblem(r, 409, 'town.agent_exists');
    }
    const list = await s.request('GET', '/v1/agents');
    assert.equal(list.json.agents.filter((a: any) => a.name.toLowerCase() === 'alice').length, 1);
    const got = await s.request('GET', '/v1/agents/alice');
    assert.equal(got.json.id, alice.id);
  });

  test('reserved names are refused regardless of case and nothing is created', async () => {
    for (const name of ['supervisor', 'conductor', 'Supervisor', 'CONDUCTOR']) {
      const r = await s.request('POST', '/v1/agents', { body: { name } });
      assert.ok(r.status === 409 || r.status === 422, `${name}: ${r.status}`);
    }
    const list = await s.request('GET', '/v1/agents');
    assert.deepEqual(list.json.agents.filter((a: any) => /^(supervisor|conductor)$/i.test(a.name)), []);
  });

  test('a reserved name is a 409 like any taken name', async () => {
    const r = await s.request('POST', '/v1/agents', { body: { name: 'Supervisor' } });
    assertProblem(r, 409, 'town.agent_exists');
  });

  test('invalid fields are a 422 with one pointer each', async () => {
    const r = await s.request('POST', '/v1/agents', { body: { name: 'has space', cli: '', nickname: '', colour: 'red' } });
    assertProblem(r, 422, 'body.invalid');
    assert.deepEqual(pointers(r), ['/cli', '/colour', '/name', '/nickname']);
    const long = await s.request('POST', '/v1/agents', { body: { name: 'n'.repeat(65) } });
    assertProblem(long, 422, 'body.invalid');
    assert.deepEqual(pointers(long), ['/name']);
    const missing = await s.request('POST', '/v1/agents', { body: {} });
    assertProblem(missing, 422, 'body.invalid');
    assert.deepEqual(pointers(missing), ['/name']);
    const notObject = await s.request('POST', '/v1/agents', { body: '[1]', headers: { 'content-type': 'application/json' } });
    assertProblem(notObject, 422, 'body.invalid');
    const ok64 = await s.request('POST', '/v1/agents', { body: { name: 'A.b_c-9'.padEnd(64, 'x') } });
    assert.equal(ok64.status, 201, 'a 64-character name with . _ - is valid');
  });

  test('malformed JSON is 400, a non-JSON type 415, an oversized body 413', async () => {
    assertProblem(await s.request('POST', '/v1/agents', { body: '{"name":', headers: { 'content-type': 'application/json' } }), 400, 'body.malformed_json');
    assertProblem(await s.request('POST', '/v1/agents', { body: 'name=zed', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'body.unsupported_media_type');
    assertProblem(await s.request('POST', '/v1/agents', { body: { name: 'zed', nickname: 'z'.repeat(300) } }), 413, 'body.too_large');
    assertProblem(await s.request('GET', '/v1/agents/zed'), 404, 'town.agent_not_found');
  });

  test('GET /v1/agents/{agent} finds by name, by id and by name in any case', async () => {
    for (const ref of ['alice', alice.id, 'ALICE', 'aLiCe']) {
      const r = await s.request('GET', `/v1/agents/${encodeURIComponent(ref)}`);
      assert.equal(r.status, 200, ref);
      const { agent_id: _a, ...record } = alice;
      assert.deepEqual(r.json, record, 'the fetched record is the stored one');
    }
    assertProblem(await s.request('GET', '/v1/agents/nobody'), 404, 'town.agent_not_found');
    assertProblem(await s.request('GET', '/v1/agents/00000000-0000-4000-8000-000000000000'), 404, 'town.agent_not_found');
    assertProblem(await s.request('GET', '/v1/agents/supervisor'), 404, 'town.agent_not_found');
  });

  test('GET /v1/agents lists in creation order with count, total and next_cursor; no supervisor', async () => {
    const r = await s.request('GET', '/v1/agents');
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json).sort(), ['agents', 'count', 'next_cursor', 'total']);
    const names = r.json.agents.map((a: any) => a.name);
    assert.deepEqual(names.slice(0, 3), ['alice', 'bob', 'bob-jr']);
    assert.equal(r.json.count, names.length);
    assert.equal(r.json.total, names.length);
    assert.equal(r.json.next_cursor, null);
    assert.ok(!names.includes('supervisor'));
    for (const a of r.json.agents) {
      assert.equal(a.agent_id, undefined, 'list items are plain records');
      assert.match(a.created_at, TS);
    }
  });

  test('heartbeat records the time and the reported state', async () => {
    now = T0 + 5_000;
    const r = await s.request('POST', '/v1/agents/alice/heartbeat', { body: { state: 'idle' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.agent_id, alice.id);
    assert.equal(r.json.state, 'idle');
    assert.equal(r.json.last_heartbeat, '2026-11-26T12:00:05.000Z');
    now = T0 + 6_000;
    const noBody = await s.request('POST', `/v1/agents/${alice.id}/heartbeat`);
    assert.equal(noBody.status, 200);
    assert.equal(noBody.json.state, 'idle', 'no state keeps the current one');
    assert.equal(noBody.json.last_heartbeat, '2026-11-26T12:00:06.000Z');
    for (const state of ['starting', 'working', 'paused', 'draining', 'idle']) {
      assert.equal((await s.request('POST', '/v1/agents/alice/heartbeat', { body: { state } })).json.state, state);
    }
    const got = await s.request('GET', '/v1/agents/alice');
    assert.equal(got.json.state, 'idle');
    assert.equal(got.json.last_heartbeat, '2026-11-26T12:00:06.000Z');
  });

  test('heartbeat errors: unknown agent 404, a non-heartbeat state 422', async () => {
    assertProblem(await s.request('POST', '/v1/agents/nobody/heartbeat', { body: { state: 'idle' } }), 404, 'town.agent_not_found');
    for (const state of ['stopped', 'error', 'cold', 'IDLE']) {
      const r = await s.request('POST', '/v1/agents/alice/heartbeat', { body: { state } });
      assertProblem(r, 422, 'body.invalid');
      assert.deepEqual(pointers(r), ['/state']);
    }
    assert.equal((await s.request('GET', '/v1/agents/alice')).json.state, 'idle');
  });

  test('kill stops the agent and queues it an urgent shutdown message', async () => {
    const r = await s.request('POST', '/v1/agents/bob/kill');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'stopped');
    assert.equal(r.json.name, 'bob');
    assert.equal(r.json.agent_id, r.json.id);
    assert.equal((await s.request('GET', '/v1/agents/bob')).json.state, 'stopped');
    const inbox = await s.request('GET', '/v1/agents/bob/inbox');
    assert.equal(inbox.json.total, 1);
    const [msg] = inbox.json.messages;
    assert.equal(msg.kind, 'shutdown');
    assert.equal(msg.from, 'supervisor');
    assert.equal(msg.to, 'bob');
    assert.equal(msg.urgent, true);
    assertProblem(await s.request('POST', '/v1/agents/nobody/kill'), 404, 'town.agent_not_found');
  });

  test('killing a stopped agent again changes nothing and queues no second shutdown', async () => {
    const r = await s.request('POST', '/v1/agents/bob/kill');
    assert.equal(r.status, 200);
    assert.equal(r.json.state, 'stopped');
    assert.equal((await s.request('GET', '/v1/agents/bob/inbox')).json.total, 1);
  });

  test('a heartbeat from a stopped agent is a 409 with current_state', async () => {
    const r = await s.request('POST', '/v1/agents/bob/heartbeat', { body: { state: 'idle' } });
    assertProblem(r, 409, 'town.agent_state');
    assert.equal(r.json.current_state, 'stopped');
    assert.equal((await s.request('GET', '/v1/agents/bob')).json.state, 'stopped');
  });

  test('restart makes the agent idle, drops its shutdown, and heartbeats work again', async () => {
    now = T0 + 10_000;
    const r = await s.request('POST', '/v1/agents/BOB/restart');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, 'idle');
    assert.equal(r.json.current_task, null);
    assert.equal((await s.request('GET', '/v1/agents/bob')).json.state, 'idle');
    const inbox = await s.request('GET', '/v1/agents/bob/inbox');
    assert.deepEqual(inbox.json.messages.filter((m: any) => m.kind === 'shutdown'), []);
    assert.equal((await s.request('POST', '/v1/agents/bob/heartbeat', { body: {} })).status, 200);
    assertProblem(await s.request('POST', '/v1/agents/nobody/restart'), 404, 'town.agent_not_found');
  });

  test('GET /v1/town answers the name and settings from tinytown.toml', async () => {
    const r = await s.request('GET', '/v1/town');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { name: 'testville', root: s.dir, redis_url: null, default_cli: 'codex', max_agents: 7, heartbeat_timeout_secs: 90 });
  });

  test('GET /v1/status adds agents, counts by state and the backlog length', async () => {
    await s.request('POST', '/v1/backlog', { body: { description: 'status one' } });
    await s.request('POST', '/v1/backlog', { body: { description: 'status two' } });
    await s.request('POST', '/v1/tasks/assign', { body: { agent: 'alice', task: 'status three' } });
    const agents = (await s.request('GET', '/v1/agents')).json.agents as any[];
    const r = await s.request('GET', '/v1/status');
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'testville');
    assert.equal(r.json.auth_mode, 'none');
    // Tinytown's shape: agent_count, and agents as an array of full agents.
    assert.equal(r.json.agent_count, agents.length);
    assert.deepEqual(r.json.agents.map((a: any) => a.name), agents.map((a) => a.name));
    assert.equal(r.json.redis_url, null);
    assert.equal(r.json.root, s.dir);
    const expected: Record<string, number> = { starting: 0, idle: 0, working: 0, paused: 0, draining: 0, stopped: 0, error: 0, cold: 0 };
    for (const a of agents) expected[a.state] = (expected[a.state] ?? 0) + 1;
    assert.deepEqual(r.json.agents_by_state, expected);
    assert.deepEqual(r.json.tasks_by_state, { pending: 2, assigned: 1, running: 0, completed: 0, failed: 0, cancelled: 0 });
    assert.equal(r.json.backlog, 2);
  });

  test('every agent mutation leaves one audit line with its status', async () => {
    const cases: Array<[string, string, unknown, number]> = [
      ['POST', '/v1/agents', { name: 'audited' }, 201],
      ['POST', '/v1/agents', { name: 'audited' }, 409],
      ['POST', '/v1/agents/audited/heartbeat', { state: 'idle' }, 200],
      ['POST', '/v1/agents/ghost/heartbeat', {}, 404],
      ['POST', '/v1/agents/audited/kill', undefined, 200],
      ['POST', '/v1/agents/audited/restart', undefined, 200],
      ['POST', '/v1/agents/prune', { all: 'yes' }, 422],
    ];
    for (const [i, [method, path, body, status]] of cases.entries()) {
      const id = `agents-audit-${i}`;
      const r = await s.request(method, path, { body, headers: { 'x-request-id': id } });
      assert.equal(r.status, status, `${method} ${path}`);
      const lines = s.audit.filter((l) => l.includes(`"${id}"`)).map(parseAuditLine);
      assert.equal(lines.length, 1, `${method} ${path} audited once`);
      assert.equal(lines[0]!['status'], String(status));
      assert.equal(lines[0]!['method'], method);
      assert.equal(lines[0]!['path'], path);
      assert.equal(lines[0]!['principal'], 'local');
    }
  });
});

describe('prune over HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('by default removes only stopped and errored agents, with their messages', async () => {
    for (const name of ['p1', 'p2', 'p3', 'p4']) assert.equal((await s.request('POST', '/v1/agents', { body: { name } })).status, 201);
    await s.request('POST', '/v1/agents/p2/kill');
    await s.request('POST', '/v1/agents/p4/kill');
    await s.request('POST', '/v1/messages/send', { body: { to: 'p2', message: 'hello' } });
    const r = await s.request('POST', '/v1/agents/prune', { body: {} });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { removed: 2, agents: ['p2', 'p4'] });
    const list = await s.request('GET', '/v1/agents');
    assert.deepEqual(list.json.agents.map((a: any) => a.name), ['p1', 'p3']);
    assert.equal(list.json.total, 2);
    assert.equal((await s.request('GET', '/v1/agents/p2')).status, 404);
    assert.equal((await s.request('GET', '/v1/agents/p2/inbox')).status, 404);
    const status = await s.request('GET', '/v1/status');
    assert.equal(status.json.agents_by_state.stopped, 0);
  });

  test('a pruned name can be used again', async () => {
    const r = await s.request('POST', '/v1/agents', { body: { name: 'P2' } });
    assert.equal(r.status, 201);
  });

  test('without a body it is the default; nothing stopped means nothing removed', async () => {
    const r = await s.request('POST', '/v1/agents/prune');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { removed: 0, agents: [] });
    assert.equal((await s.request('GET', '/v1/agents')).json.total, 3);
  });

  test('{all: true} removes every agent', async () => {
    const r = await s.request('POST', '/v1/agents/prune', { body: { all: true } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { removed: 3, agents: ['p1', 'p3', 'P2'] });
    const list = await s.request('GET', '/v1/agents');
    assert.deepEqual(list.json, { agents: [], count: 0, total: 0, next_cursor: null });
  });

  test('a non-boolean all is a 422', async () => {
    const r = await s.request('POST', '/v1/agents/prune', { body: { all: 1 } });
    assert.equal(r.status, 422);
    assert.deepEqual(pointers(r), ['/all']);
  });
});
