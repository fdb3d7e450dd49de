// Scopes on the town routes through the real server (town.read, town.write,
// agent.manage keys), the audit of denials, and the public /api/scaling and
// /metrics town figures.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashToken } from '../../src/auth/argon2-hash.js';
import {
  apiKeysToml,
  BUTTERCUP_HASH,
  BUTTERCUP_TOKEN,
  parseAuditLine,
  startTestServer,
  TINYTOWN_HASH,
  TINYTOWN_KEY,
  type TestResponse,
  type TestServer,
} from '../helpers/server.js';
import { metric } from '../helpers/assertions.js';

const T0 = Date.parse('2026-11-26T12:00:00.000Z');
const MANAGER_TOKEN = 'mgr-9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a';

function assertDenied(r: TestResponse, scope: string, what: string): void {
  assert.equal(r.status, 403, `${what}: ${r.text}`);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(r.json.required_scope, scope, what);
  assert.equal(r.headers['www-authenticate'], `Bearer realm="townhall", error="insufficient_scope", scope="${scope}"`, what);
}

describe('town scopes with api_key keys', () => {
  let s: TestServer;
  const reader = { authorization: `Bearer ${TINYTOWN_KEY}` };
  const writer = { authorization: `Bearer ${BUTTERCUP_TOKEN}` };
  const manager = { authorization: `Bearer ${MANAGER_TOKEN}` };
  let taskId = '';
  before(async () => {
    const managerHash = await hashToken(MANAGER_TOKEN);
    s = await startTestServer({
      toml: apiKeysToml([
        { id: 'reader', hash: TINYTOWN_HASH, scopes: ['town.read'] },
        { id: 'writer', hash: BUTTERCUP_HASH, scopes: ['town.write'] },
        { id: 'manager', hash: managerHash, scopes: ['agent.manage'] },
      ]),
    });
  });
  after(() => s.close());

  test('agent.manage can POST /v1/agents but not POST /v1/backlog', async () => {
    const r = await s.request('POST', '/v1/agents', { body: { name: 'scoped' }, headers: manager });
    assert.equal(r.status, 201, r.text);
    assertDenied(await s.request('POST', '/v1/backlog', { body: { description: 'x' }, headers: manager }), 'town.write', 'manager backlog');
    assertDenied(await s.request('POST', '/v1/agents/scoped/heartbeat', { body: {}, headers: manager }), 'town.write', 'manager heartbeat');
    assertDenied(await s.request('GET', '/v1/agents', { headers: manager }), 'town.read', 'manager list');
  });

  test('town.write can POST /v1/backlog and worker routes but not POST /v1/agents or agent.manage routes', async () => {
    const r = await s.request('POST', '/v1/backlog', { body: { description: 'by writer' }, headers: writer });
    assert.equal(r.status, 201, r.text);
    taskId = r.json.id;
    assert.equal((await s.request('POST', `/v1/backlog/${taskId}/claim`, { body: { agent: 'scoped' }, headers: writer })).status, 200);
    assert.equal((await s.request('POST', '/v1/agents/scoped/heartbeat', { body: { state: 'idle' }, headers: writer })).status, 200);
    assert.equal((await s.request('POST', '/v1/agents/scoped/inbox/next', { headers: writer })).status, 200);
    assert.equal((await s.request('POST', '/v1/messages/send', { body: { to: 'scoped', message: 'm', urgent: true }, headers: writer })).status, 201);
    assertDenied(await s.request('POST', '/v1/agents', { body: { name: 'nope' }, headers: writer }), 'agent.manage', 'writer spawn');
    for (const path of ['/v1/agents/scoped/kill', '/v1/agents/scoped/restart', '/v1/agents/prune', '/v1/recover', '/v1/reclaim', '/v1/reclaim/orphan-tasks']) {
      assertDenied(await s.request('POST', path, { body: { action: 'list' }, headers: writer }), 'agent.manage', `writer ${path}`);
    }
    assertDenied(await s.request('GET', '/v1/backlog', { headers: writer }), 'town.read', 'writer read: scopes are independent');
  });

  test('town.read can GET every list and the POST inbox form, and nothing else', async () => {
    for (const path of ['/v1/town', '/v1/status', '/v1/agents', '/v1/agents/scoped', '/v1/agents/scoped/inbox', '/v1/agents/supervisor/inbox', '/v1/tasks', '/v1/tasks/pending', `/v1/tasks/${taskId}`, '/v1/backlog']) {
      assert.equal((await s.request('GET', path, { headers: reader })).status, 200, path);
    }
    const post = await s.request('POST', '/v1/agents/scoped/inbox', { headers: reader });
    assert.equal(post.status, 200);
    assert.equal(post.json.total, 1);
    assertDenied(await s.request('POST', '/v1/backlog', { body: { description: 'x' }, headers: reader }), 'town.write', 'reader backlog');
    assertDenied(await s.request('POST', '/v1/agents', { body: { name: 'nope' }, headers: reader }), 'agent.manage', 'reader spawn');
    assertDenied(await s.request('POST', '/v1/agents/scoped/inbox/next', { headers: reader }), 'town.write', 'reader pop');
    assertDenied(await s.request('DELETE', `/v1/backlog/${taskId}`, { headers: reader }), 'town.write', 'reader delete');
    assertDenied(await s.request('POST', `/v1/tasks/${taskId}/start`, { headers: reader }), 'town.write', 'reader start');
    assertDenied(await s.request('POST', '/v1/recover', { headers: reader }), 'agent.manage', 'reader recover');
  });

  test('denials change nothing', async () => {
    const agents = (await s.request('GET', '/v1/agents', { headers: reader })).json;
    assert.deepEqual(agents.agents.map((a: any) => a.name), ['scoped']);
    assert.equal(agents.agents[0].state, 'idle');
    assert.equal((await s.request('GET', '/v1/backlog', { headers: reader })).json.total, 0);
    assert.equal((await s.request('GET', `/v1/tasks/${taskId}`, { headers: reader })).json.state, 'assigned');
    assert.equal((await s.request('GET', '/v1/agents/scoped/inbox', { headers: reader })).json.total, 1);
  });

  test('scope is checked before the body is read: a denied malformed body is a 403, not a 400', async () => {
    const r = await s.request('POST', '/v1/backlog', { body: '{"description":', headers: { ...reader, 'content-type': 'application/json' } });
    assertDenied(r, 'town.write', 'reader malformed');
  });

  test('without credentials town routes are 401; /api/scaling and /metrics are public', async () => {
    assert.equal((await s.request('GET', '/v1/agents')).status, 401);
    assert.equal((await s.request('POST', '/v1/backlog', { body: { description: 'x' } })).status, 401);
    const scaling = await s.request('GET', '/api/scaling');
    assert.equal(scaling.status, 200);
    assert.equal(scaling.json.active_agents, 1);
    assert.equal(scaling.json.pending_tasks, 1);
    assert.equal((await s.request('GET', '/metrics')).status, 200);
  });

  test('a denial is audited with the principal, status 403 and reason insufficient_scope', async () => {
    await s.request('POST', '/v1/agents', { body: { name: 'audit' }, headers: { ...writer, 'x-request-id': 'scope-deny-1' } });
    await s.request('GET', '/v1/backlog', { headers: { ...manager, 'x-request-id': 'scope-deny-2' } });
    await s.request('POST', '/v1/backlog', { body: { description: 'ok' }, headers: { ...writer, 'x-request-id': 'scope-ok-1' } });
    const find = (id: string): Record<string, string> => {
      const lines = s.audit.filter((l) => l.includes(`"${id}"`));
      assert.equal(lines.length, 1, id);
      return parseAuditLine(lines[0]!);
    };
    const d1 = find('scope-deny-1');
    assert.equal(d1['principal'], 'writer');
    assert.equal(d1['status'], '403');
    assert.equal(d1['reason'], 'insufficient_scope');
    assert.equal(d1['result'], 'denied');
    const d2 = find('scope-deny-2');
    assert.equal(d2['method'], 'GET');
    assert.equal(d2['status'], '403');
    const ok = find('scope-ok-1');
    assert.equal(ok['status'], '201');
    assert.equal(ok['principal'], 'writer');
  });

  test('a town.write caller sends as itself: no other from, no control kinds (no impersonation)', async () => {
    const own = await s.request('POST', '/v1/messages/send', { body: { to: 'scoped', message: 'hello' }, headers: writer });
    assert.equal(own.status, 201, own.text);
    assert.equal(own.json.from, 'writer', 'from is the caller, not the supervisor');
    assert.equal((await s.request('POST', '/v1/messages/send', { body: { to: 'scoped', message: 'm', from: 'writer' }, headers: writer })).status, 201);
    assertDenied(await s.request('POST', '/v1/messages/send', { body: { to: 'scoped', message: 'm', from: 'supervisor' }, headers: writer }), 'agent.manage', 'spoofed from');
    for (const kind of ['shutdown', 'task_assign', 'task_done', 'task_failed']) {
      assertDenied(await s.request('POST', '/v1/messages/send', { body: { to: 'scoped', message: 'm', kind }, headers: writer }), 'agent.manage', `kind ${kind}`);
    }
    assert.equal((await s.request('POST', '/v1/messages/send', { body: { to: 'scoped', message: 'fyi', kind: 'info' }, headers: writer })).status, 201);
    const denied = s.audit.map(parseAuditLine).filter((l) => l['operation'] === 'message.send' && l['result'] === 'denied');
    assert.equal(denied.length, 5);
    // An admin (mode none's local principal, in the other suites) still speaks for others and sends control kinds.
  });
});

describe('/api/scaling and /metrics town figures', () => {
  let s: TestServer;
  let now = T0;
  const t: string[] = [];
  before(async () => {
    s = await startTestServer({ clock: { now: () => now }, toml: 'name = "scaletown"\nmax_agents = 2\n' });
  });
  after(() => s.close());

  const scaling = async (): Promise<any> => {
    const r = await s.request('GET', '/api/scaling');
    assert.equal(r.status, 200);
    return r.json;
  };

  test("an empty town: Tinytown's field names, steady", async () => {
    now = T0 + 1500;
    assert.deepEqual(await scaling(), {
      town: 'scaletown',
      timestamp: '2026-11-26T12:00:01.500Z',
      queue_depth: 0,
      pending_tasks: 0,
      in_flight_tasks: 0,
      active_agents: 0,
      cold_agents: 0,
      desired_agents: 0,
      max_agents: 2,
      scaling_recommendation: 'steady',
    });
  });

  test('backlog with no agents: scale_up, desired capped by max_agents', async () => {
    for (const d of ['s1', 's2', 's3']) t.push((await s.request('POST', '/v1/backlog', { body: { description: d } })).json.id);
    const r = await scaling();
    assert.equal(r.queue_depth, 3);
    assert.equal(r.desired_agents, 2);
    assert.equal(r.active_agents, 0);
    assert.equal(r.scaling_recommendation, 'scale_up');
  });

  test('queue, pending and in-flight counts follow the tasks; steady at the desired size', async () => {
    await s.request('POST', '/v1/agents', { body: { name: 'sa' } });
    await s.request('POST', '/v1/agents', { body: { name: 'sb' } });
    await s.request('POST', `/v1/backlog/${t[0]}/claim`, { body: { agent: 'sa' } });
    await s.request('POST', `/v1/backlog/${t[1]}/claim`, { body: { agent: 'sb' } });
    await s.request('POST', `/v1/tasks/${t[1]}/start`);
    const r = await scaling();
    assert.equal(r.queue_depth, 1);
    assert.equal(r.pending_tasks, 1);
    assert.equal(r.in_flight_tasks, 1);
    assert.equal(r.active_agents, 2);
    assert.equal(r.desired_agents, 2);
    assert.equal(r.scaling_recommendation, 'steady');
  });

  test('more active agents than work: scale_down; max_agents holds; stopped agents are not active', async () => {
    const third = await s.request('POST', '/v1/agents', { body: { name: 'sc' } });
    assert.equal(third.status, 409, 'max_agents = 2 live agents');
    assert.equal(third.json.type, 'https://townhall.dev/problems/town-agent-limit');
    await s.request('DELETE', `/v1/backlog/${t[2]}`);
    assert.equal((await scaling()).scaling_recommendation, 'steady');
    await s.request('POST', `/v1/tasks/${t[1]}/complete`, { body: { result: 'ok' } });
    assert.equal((await scaling()).scaling_recommendation, 'scale_down');
    await s.request('POST', '/v1/agents/sb/kill');
    const r = await scaling();
    assert.equal(r.active_agents, 1);
    assert.equal(r.scaling_recommendation, 'steady');
  });

  test('/metrics reports agents and tasks by state, backlog length and urgent messages', async () => {
    await s.request('POST', '/v1/messages/send', { body: { to: 'sa', message: 'now', urgent: true } });
    await s.request('POST', '/v1/messages/send', { body: { to: 'supervisor', message: 'fyi', urgent: true } });
    await s.request('POST', '/v1/messages/send', { body: { to: 'sa', message: 'later' } });
    const r = await s.request('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    const expected: Record<string, number> = {
      'townhall_agents{state="starting"}': 1,
      'townhall_agents{state="working"}': 0,
      'townhall_agents{state="stopped"}': 1,
      'townhall_agents{state="cold"}': 0,
      'townhall_tasks{state="pending"}': 0,
      'townhall_tasks{state="assigned"}': 1,
      'townhall_tasks{state="running"}': 0,
      'townhall_tasks{state="completed"}': 1,
      'townhall_tasks{state="cancelled"}': 1,
      'townhall_backlog_length': 0,
      'townhall_urgent_messages': 3, // two sent urgent, plus the shutdown queued by killing sb
    };
    for (const [series, value] of Object.entries(expected)) assert.equal(metric(r.text, series), value, series);
    assert.match(r.text, /# TYPE townhall_agents gauge/);
    assert.match(r.text, /# TYPE townhall_backlog_length gauge/);
  });

  test('/v1/status agrees with /metrics', async () => {
    const r = await s.request('GET', '/v1/status');
    assert.equal(r.json.name, 'scaletown');
    assert.equal(r.json.agent_count, 2);
    assert.equal(r.json.agents.length, 2);
    assert.equal(r.json.agents_by_state.starting, 1);
    assert.equal(r.json.agents_by_state.stopped, 1);
    assert.equal(r.json.agents_by_state.working, 0);
    assert.deepEqual(r.json.tasks_by_state, { pending: 0, assigned: 1, running: 0, completed: 1, failed: 0, cancelled: 1 });
    assert.equal(r.json.backlog, 0);
  });

  test('no work left with agents up: scale_to_zero', async () => {
    await s.request('POST', `/v1/tasks/${t[1]}/complete`, { body: { result: 'ok' } });
    await s.request('POST', `/v1/tasks/${t[0]}/fail`, { body: { error: 'no' } });
    await s.request('DELETE', `/v1/backlog/${t[2]}`);
    const r = await scaling();
    assert.equal(r.queue_depth + r.pending_tasks + r.in_flight_tasks, 0);
    assert.equal(r.desired_agents, 0);
    assert.equal(r.active_agents, 1);
    assert.equal(r.scaling_recommendation, 'scale_to_zero');
  });
});
