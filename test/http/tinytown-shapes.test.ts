// Tinytown's clients keep working: for each route Tinytown's townhall serves,
// every (field, JSON type) pair it answers with (written here from
// shared/reference/tinytown-townhall.md §1.4) is in Townhall's answer too,
// except the deliberate differences below, each listed in docs/tinytown-compat.md.
// Townhall's own extra fields are allowed beside them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'null';
/** `field` or `list[].field` -> the JSON types Tinytown may send there. */
type Shape = Record<string, JsonType | `${JsonType}|${JsonType}`>;

const AGENT_BRIEF: Shape = {
  id: 'string', name: 'string', nickname: 'string|null', role_id: 'string|null', parent_agent_id: 'string|null',
  spawn_mode: 'string', cli: 'string', state: 'string', current_scope: 'string|null',
};
const AGENT_FULL: Shape = { ...AGENT_BRIEF, rounds_completed: 'integer', tasks_completed: 'integer', inbox_len: 'integer', urgent_len: 'integer' };
const items = (list: string, shape: Shape): Shape => Object.fromEntries(Object.entries(shape).map(([k, v]) => [`${list}[].${k}`, v]));
const TASK_WITH_AGENT: Shape = { task_id: 'string', agent_id: 'string', agent_name: 'string' };

/** Tinytown's success bodies, route by route. */
const TINYTOWN: Record<string, Shape> = {
  'GET /health': { status: 'string', uptime_secs: 'integer' },
  'GET /ready': { status: 'string', redis: 'string', redis_latency_ms: 'number', dispatcher: 'string', town: 'string' },
  'GET /api/scaling': {
    town: 'string', timestamp: 'string', queue_depth: 'integer', pending_tasks: 'integer', in_flight_tasks: 'integer', active_agents: 'integer',
    cold_agents: 'integer', desired_agents: 'integer', max_agents: 'integer', scaling_recommendation: 'string',
  },
  'GET /v1/town': { name: 'string', root: 'string', redis_url: 'string' },
  'GET /v1/status': { name: 'string', root: 'string', redis_url: 'string', agent_count: 'integer', agents: 'array', ...items('agents', AGENT_FULL) },
  'GET /v1/agents': { agents: 'array', count: 'integer', ...items('agents', AGENT_BRIEF) },
  'POST /v1/agents': { agent_id: 'string', name: 'string', cli: 'string', role_id: 'string|null', nickname: 'string|null', parent_agent_id: 'string|null' },
  'POST /v1/agents/{agent}/kill': { status: 'string', agent: 'string' },
  'POST /v1/agents/{agent}/restart': { status: 'string', agent: 'string' },
  'POST /v1/agents/prune': { removed: 'integer', agents: 'array', 'agents[]': 'string' },
  'GET /v1/agents/{agent}/inbox': { agent: 'string', total: 'integer', urgent: 'integer', messages: 'array', ...items('messages', { id: 'string', from: 'string', type: 'string', summary: 'string' }) },
  'POST /v1/agents/{agent}/inbox': { agent: 'string', total: 'integer', urgent: 'integer', messages: 'array', ...items('messages', { id: 'string', from: 'string', type: 'string', summary: 'string' }) },
  'POST /v1/tasks/assign': TASK_WITH_AGENT,
  'GET /v1/tasks/pending': { tasks: 'array', count: 'integer', ...items('tasks', { ...TASK_WITH_AGENT, description: 'string' }) },
  'GET /v1/backlog': { backlog: 'array', count: 'integer', ...items('backlog', { task_id: 'string', description: 'string', tags: 'array' }) },
  'POST /v1/backlog': { task_id: 'string', description: 'string' },
  'POST /v1/backlog/{task_id}/claim': TASK_WITH_AGENT,
  'POST /v1/backlog/assign-all': { assigned: 'integer', tasks: 'array', 'tasks[]': 'string' },
  'DELETE /v1/backlog/{task_id}': { removed: 'boolean', task_id: 'string' },
  'POST /v1/messages/send': { message_id: 'string', to_agent: 'string', urgent: 'boolean' },
  'POST /v1/recover': { checked: 'integer', recovered: 'integer', agents: 'array' },
  'POST /v1/reclaim': { reclaimed: 'integer', destination: 'string' },
  'POST /v1/reclaim/orphan-tasks': { action: 'string', count: 'integer', orphans: 'array', ...items('orphans', { task_id: 'string', assigned_to: 'string', state: 'string', reason: 'string' }) },
};

/** Deliberate differences in type (docs/tinytown-compat.md says why): route -> field -> what Townhall sends. */
const DIFFERENCES: Record<string, Record<string, JsonType>> = {
  // Not on Redis: the Redis fields are null.
  'GET /ready': { redis: 'null', redis_latency_ms: 'null' },
  'GET /v1/town': { redis_url: 'null' },
  'GET /v1/status': { redis_url: 'null' },
};

function typeOf(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as JsonType;
}

/** The JSON types at `path` (`a`, `a[]`, `a[].b`) in `body`; empty when absent. */
function typesAt(body: unknown, path: string): JsonType[] {
  let values: unknown[] = [body];
  for (const part of path.split('.')) {
    const list = part.endsWith('[]');
    const key = list ? part.slice(0, -2) : part;
    values = values.flatMap((v) => (typeof v === 'object' && v !== null && Object.hasOwn(v, key) ? [(v as Record<string, unknown>)[key]] : []));
    if (list) values = values.flatMap((v) => (Array.isArray(v) ? v : []));
  }
  return values.map(typeOf);
}

function assertShape(route: string, body: unknown): void {
  const shape = TINYTOWN[route];
  assert.ok(shape, route);
  for (const [field, allowed] of Object.entries(shape)) {
    const types = typesAt(body, field);
    assert.ok(types.length > 0, `${route}: ${field} is missing (or its list is empty) in ${JSON.stringify(body)}`);
    const expected = DIFFERENCES[route]?.[field] ?? allowed;
    for (const t of types) {
      // An integer is also a JSON number.
      const ok = expected.split('|').includes(t) || (t === 'integer' && expected.split('|').includes('number'));
      assert.ok(ok, `${route}: ${field} is ${t}, Tinytown sends ${allowed}${DIFFERENCES[route]?.[field] ? ` (deliberately ${expected})` : ''}`);
    }
  }
}

describe("Tinytown's response shapes, route by route", () => {
  let s: TestServer;
  const seen = new Set<string>();
  before(async () => {
    s = await startTestServer({ toml: 'name = "shapes"\n' });
  });
  after(() => s.close());

  async function check(method: string, path: string, route: string, body?: unknown): Promise<any> {
    const r = await s.request(method, path, body === undefined ? {} : { body });
    assert.ok(r.status === 200 || r.status === 201, `${method} ${path}: ${r.status} ${r.text}`);
    assertShape(route, r.json);
    seen.add(route);
    return r.json;
  }

  test('every route answers every Tinytown field with its type', async () => {
    await check('POST', '/v1/agents', 'POST /v1/agents', { name: 'alice' });
    await check('POST', '/v1/agents', 'POST /v1/agents', { name: 'bob', role_id: 'tester', nickname: 'Bobby' });
    const ids: string[] = [];
    for (const d of ['one', 'two', 'three']) ids.push((await check('POST', '/v1/backlog', 'POST /v1/backlog', { description: d, tags: ['t'] })).task_id);
    await check('GET', '/v1/backlog', 'GET /v1/backlog');
    await check('POST', `/v1/backlog/${ids[0]}/claim`, 'POST /v1/backlog/{task_id}/claim', { agent: 'alice' });
    await check('DELETE', `/v1/backlog/${ids[1]}`, 'DELETE /v1/backlog/{task_id}');
    await check('POST', '/v1/backlog/assign-all', 'POST /v1/backlog/assign-all', { agent: 'bob' });
    const assigned = await check('POST', '/v1/tasks/assign', 'POST /v1/tasks/assign', { agent: 'alice', task: 'write the report' });
    assert.equal((await s.request('POST', `/v1/tasks/${assigned.task_id}/start`)).status, 200);
    await check('GET', '/v1/tasks/pending', 'GET /v1/tasks/pending');
    await check('POST', '/v1/messages/send', 'POST /v1/messages/send', { to: 'alice', message: 'fyi', kind: 'info' });
    await check('GET', '/v1/agents/alice/inbox', 'GET /v1/agents/{agent}/inbox');
    await check('POST', '/v1/agents/alice/inbox', 'POST /v1/agents/{agent}/inbox');
    const status = await check('GET', '/v1/status', 'GET /v1/status');
    assert.equal(status.agents.find((a: any) => a.name === 'alice').current_scope, 'write the report');
    assert.ok(status.agents.find((a: any) => a.name === 'alice').inbox_len >= 2);
    await check('GET', '/v1/agents', 'GET /v1/agents');
    await check('GET', '/v1/town', 'GET /v1/town');
    await check('GET', '/ready', 'GET /ready');
    await check('GET', '/health', 'GET /health');
    await check('GET', '/api/scaling', 'GET /api/scaling');
    const killed = await check('POST', '/v1/agents/bob/kill', 'POST /v1/agents/{agent}/kill');
    assert.deepEqual([killed.status, killed.agent], ['stopped', 'bob']);
    await check('POST', '/v1/reclaim/orphan-tasks', 'POST /v1/reclaim/orphan-tasks', { action: 'list' });
    await check('POST', '/v1/reclaim', 'POST /v1/reclaim', { to_backlog: true });
    await check('POST', '/v1/recover', 'POST /v1/recover');
    const restarted = await check('POST', '/v1/agents/BOB/restart', 'POST /v1/agents/{agent}/restart');
    assert.deepEqual([restarted.status, restarted.agent], ['restarted', 'BOB'], 'agent echoes the path as given');
    await s.request('POST', '/v1/agents/bob/kill');
    await check('POST', '/v1/agents/prune', 'POST /v1/agents/prune', {});
    assert.deepEqual([...Object.keys(TINYTOWN)].filter((r) => !seen.has(r)), [], 'every Tinytown route was checked');
  });

  test('the checker fails on a missing field and on a field of another type', () => {
    assert.throws(() => assertShape('GET /v1/town', { name: 'x', redis_url: null }), /root is missing/);
    assert.throws(() => assertShape('GET /v1/status', { name: 'x', root: '/', redis_url: null, agent_count: 1, agents: 1 }), /agents is integer, Tinytown sends array/);
  });
});

test('redis_url is the redacted URL when the town is on Redis, else null', async () => {
  const { makeTown } = await import('../town/town-fixture.js');
  const { redactRedisUrl } = await import('../../src/store/redis-keys.js');
  const onRedis = makeTown({ redisUrl: redactRedisUrl('redis://user:s3cret@127.0.0.1:6379/0') });
  assert.equal(onRedis.town.info().redis_url, 'redis://user:****@127.0.0.1:6379/0');
  assert.equal(makeTown().town.info().redis_url, null);
});
