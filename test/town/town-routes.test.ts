import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCOPES } from '../../src/auth/scopes.js';
import { HttpError } from '../../src/errors.js';
import type { RequestContext, RouteDef, RouteResult } from '../../src/http/route.js';
import { createRouter } from '../../src/http/router.js';
import { validate } from '../../src/http/schema.js';
import { townRoutes } from '../../src/http/town-routes.js';
import { makeTown } from './town-fixture.js';

const EXPECTED: Array<[string, string, string, number]> = [
  ['GET', '/v1/town', 'town.read', 200],
  ['GET', '/v1/agents', 'town.read', 200],
  ['GET', '/v1/agents/{agent}', 'town.read', 200],
  ['GET', '/v1/agents/{agent}/inbox', 'town.read', 200],
  ['POST', '/v1/agents/{agent}/inbox', 'town.read', 200],
  ['GET', '/v1/tasks', 'town.read', 200],
  ['GET', '/v1/tasks/pending', 'town.read', 200],
  ['GET', '/v1/tasks/{task_id}', 'town.read', 200],
  ['GET', '/v1/backlog', 'town.read', 200],
  ['POST', '/v1/tasks/assign', 'town.write', 201],
  ['POST', '/v1/backlog', 'town.write', 201],
  ['POST', '/v1/backlog/{task_id}/claim', 'town.write', 200],
  ['POST', '/v1/backlog/assign-all', 'town.write', 200],
  ['DELETE', '/v1/backlog/{task_id}', 'town.write', 200],
  ['POST', '/v1/messages/send', 'town.write', 201],
  ['POST', '/v1/agents/{agent}/heartbeat', 'town.write', 200],
  ['POST', '/v1/agents/{agent}/inbox/next', 'town.write', 200],
  ['POST', '/v1/tasks/{task_id}/start', 'town.write', 200],
  ['POST', '/v1/tasks/{task_id}/complete', 'town.write', 200],
  ['POST', '/v1/tasks/{task_id}/fail', 'town.write', 200],
  ['POST', '/v1/agents', 'agent.manage', 201],
  ['POST', '/v1/agents/{agent}/kill', 'agent.manage', 200],
  ['POST', '/v1/agents/{agent}/restart', 'agent.manage', 200],
  ['POST', '/v1/agents/prune', 'agent.manage', 200],
  ['POST', '/v1/recover', 'agent.manage', 200],
  ['POST', '/v1/reclaim', 'agent.manage', 200],
  ['POST', '/v1/reclaim/orphan-tasks', 'agent.manage', 200],
  ['GET', '/api/scaling', 'public', 200],
];

/** POSTs that take no request fields: everything else must declare a body schema. */
const BODYLESS_POSTS = new Set([
  'POST /v1/agents/{agent}/inbox',
  'POST /v1/agents/{agent}/inbox/next',
  'POST /v1/tasks/{task_id}/start',
  'POST /v1/agents/{agent}/kill',
  'POST /v1/agents/{agent}/restart',
  'POST /v1/recover',
]);

const routes = (): RouteDef[] => townRoutes(makeTown().town);
const key = (r: RouteDef): string => `${r.method} ${r.path}`;

test('the table declares exactly the town endpoints, with scope and success status', () => {
  const table = routes();
  assert.deepEqual(
    table.map((r) => [r.method, r.path, r.access, Number(Object.keys(r.success)[0])]).sort(),
    EXPECTED.map((e) => [...e]).sort(),
  );
});

test('every route has an access decision, a summary and a success map; pairs are unique', () => {
  const table = routes();
  const seen = new Set<string>();
  for (const r of table) {
    assert.ok(r.access === 'public' || (SCOPES as readonly string[]).includes(r.access), key(r));
    assert.ok(r.summary.trim().length > 0, key(r));
    const statuses = Object.keys(r.success).map(Number);
    assert.ok(statuses.length > 0 && statuses.every((s) => s >= 200 && s < 300), key(r));
    assert.ok(!seen.has(key(r)), `duplicate ${key(r)}`);
    seen.add(key(r));
    assert.equal(typeof r.handler, 'function');
  }
  for (const core of ['/v1/status', '/metrics', '/openapi.json', '/healthz', '/health', '/ready', '/readyz']) {
    assert.ok(!table.some((r) => r.path === core), `${core} belongs to the core routes`);
  }
  assert.doesNotThrow(() => createRouter(table));
});

test('POST routes that take fields declare a strict object body schema', () => {
  for (const r of routes()) {
    if (r.method !== 'POST') continue;
    if (BODYLESS_POSTS.has(key(r))) {
      assert.equal(r.body, undefined, key(r));
      continue;
    }
    assert.equal(r.body?.type, 'object', key(r));
    assert.deepEqual(validate(r.body!, { surprise: 1 }).filter((e) => e.pointer === '/surprise').length, 1, `${key(r)} rejects unknown fields`);
  }
});

test('idempotent on the creating POSTs only; long-poll on inbox/next only', () => {
  const table = routes();
  assert.deepEqual(table.filter((r) => r.idempotent === true).map(key).sort(), [
    'POST /v1/agents', 'POST /v1/backlog', 'POST /v1/messages/send', 'POST /v1/tasks/assign',
  ]);
  assert.deepEqual(table.filter((r) => r.longPoll === true).map(key), ['POST /v1/agents/{agent}/inbox/next']);
  const next = table.find((r) => key(r) === 'POST /v1/agents/{agent}/inbox/next');
  assert.deepEqual(Object.keys(next?.success ?? {}).sort(), ['200', '204']);
});

test('body schemas enforce the issue: message kinds, heartbeat states, orphan actions, name pattern, tags', () => {
  const table = routes();
  const body = (k: string) => {
    const r = table.find((x) => key(x) === k);
    assert.ok(r?.body, k);
    return r.body;
  };
  const pointers = (k: string, value: unknown) => validate(body(k), value).map((e) => e.pointer);
  assert.deepEqual(pointers('POST /v1/messages/send', { to: 'w', message: 'hi', kind: 'gossip' }), ['/kind']);
  assert.deepEqual(pointers('POST /v1/messages/send', { to: 'w', message: 'hi', kind: 'task_done', urgent: true }), []);
  assert.deepEqual(pointers('POST /v1/messages/send', { to: 'w' }), ['/message']);
  assert.deepEqual(pointers('POST /v1/agents/{agent}/heartbeat', { state: 'stopped' }), ['/state']);
  assert.deepEqual(pointers('POST /v1/agents/{agent}/heartbeat', {}), []);
  assert.deepEqual(pointers('POST /v1/reclaim/orphan-tasks', { action: 'nuke' }), ['/action']);
  assert.deepEqual(pointers('POST /v1/agents', { name: 'bad name!' }), ['/name']);
  assert.deepEqual(pointers('POST /v1/agents', { name: 'x'.repeat(65) }), ['/name']);
  assert.deepEqual(pointers('POST /v1/agents', { name: 'ok.name_1-2' }), []);
  assert.deepEqual(pointers('POST /v1/backlog', { description: '' }), ['/description']);
  assert.deepEqual(pointers('POST /v1/backlog', { description: 'x', tags: Array(33).fill('t') }), ['/tags']);
  assert.deepEqual(pointers('POST /v1/backlog', { description: 'x', tags: [''] }), ['/tags/0']);
  assert.deepEqual(pointers('POST /v1/backlog', { description: 'x'.repeat(64 * 1024 + 1) }), ['/description']);
  assert.deepEqual(pointers('POST /v1/tasks/{task_id}/complete', {}), ['/result']);
});

// --- handlers, called directly with a fake context ---

function ctxFor(init: { params?: Record<string, string>; query?: string; body?: unknown; signal?: AbortSignal }): RequestContext {
  const params = Object.assign(Object.create(null) as Record<string, string>, init.params ?? {});
  return {
    requestId: 'req-1',
    principal: { id: 'tester', scopes: ['admin'] },
    params,
    query: new URLSearchParams(init.query ?? ''),
    body: init.body,
    headers: {},
    signal: init.signal ?? new AbortController().signal,
  };
}

function harness() {
  const fx = makeTown({ name: 'routes' });
  const table = townRoutes(fx.town);
  const call = async (method: string, path: string, init: Parameters<typeof ctxFor>[0] = {}): Promise<RouteResult> => {
    const r = table.find((x) => x.method === method && x.path === path);
    assert.ok(r, `${method} ${path}`);
    return r.handler(ctxFor(init));
  };
  return { ...fx, call };
}

async function problem(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HttpError);
    return err;
  }
  assert.fail('expected a problem');
}

test('handlers answer with the statuses and shapes of the issue', async () => {
  const { call } = harness();
  const spawned = await call('POST', '/v1/agents', { body: { name: 'w' } });
  assert.equal(spawned.status, 201);
  const agent = spawned.body as { agent_id: string; name: string };
  assert.equal(agent.name, 'w');
  const added = await call('POST', '/v1/backlog', { body: { description: 'job', tags: ['x'] } });
  assert.equal(added.status, 201);
  const taskId = (added.body as { task_id: string }).task_id;
  const claimed = await call('POST', '/v1/backlog/{task_id}/claim', { params: { task_id: taskId }, body: { agent: 'w' } });
  assert.deepEqual([claimed.status, (claimed.body as { agent_name: string }).agent_name], [200, 'w']);
  const sent = await call('POST', '/v1/messages/send', { body: { to: 'w', message: 'hi', urgent: true } });
  assert.equal(sent.status, 201);
  assert.ok((sent.body as { message_id: string }).message_id);
  const list = await call('GET', '/v1/agents', { query: 'limit=1' });
  assert.deepEqual(Object.keys(list.body as object).sort(), ['agents', 'count', 'next_cursor', 'total']);
  const inbox = await call('POST', '/v1/agents/{agent}/inbox', { params: { agent: 'w' } });
  assert.equal((inbox.body as { total: number }).total, 2);
  const town = await call('GET', '/v1/town');
  assert.equal((town.body as { name: string }).name, 'routes');
  const scaling = await call('GET', '/api/scaling');
  assert.equal((scaling.body as { town: string }).town, 'routes');
  const reclaim = await call('POST', '/v1/reclaim', { body: undefined });
  assert.deepEqual(reclaim.body, { reclaimed: 0, destination: 'none', tasks: [] });
  const orphans = await call('POST', '/v1/reclaim/orphan-tasks', { body: { action: 'list' } });
  assert.deepEqual(orphans.body, { action: 'list', count: 0, tasks: [] });
});

// ?wait bounds (0..30) are enforced by the pipeline from the route's query
// declaration; test/http/town-messages.test.ts checks them over HTTP.
test('inbox/next: 200 with a message, 204 with no body when empty; wait is declared 0..30', async () => {
  const { call, town } = harness();
  await call('POST', '/v1/agents', { body: { name: 'w' } });
  await call('POST', '/v1/messages/send', { body: { to: 'w', message: 'one' } });
  const got = await call('POST', '/v1/agents/{agent}/inbox/next', { params: { agent: 'w' } });
  assert.deepEqual([got.status, (got.body as { body: string }).body], [200, 'one']);
  const empty = await call('POST', '/v1/agents/{agent}/inbox/next', { params: { agent: 'w' }, query: 'wait=0' });
  assert.equal(empty.status, 204);
  assert.equal('body' in empty, false);
  const route = townRoutes(town).find((r) => r.path === '/v1/agents/{agent}/inbox/next')!;
  assert.deepEqual(route.query?.['wait'], { type: 'integer', minimum: 0, maximum: 30, description: 'Seconds to wait for a message (default 0).' });
  const missing = await problem(call('POST', '/v1/agents/{agent}/inbox/next', { params: { agent: 'ghost' } }));
  assert.equal(missing.code, 'town.agent_not_found');
});

test('inbox/next long-polls on ctx.signal: an abort ends it with 204', async () => {
  const { call, town } = harness();
  await call('POST', '/v1/agents', { body: { name: 'w' } });
  const ac = new AbortController();
  const started = performance.now();
  const p = call('POST', '/v1/agents/{agent}/inbox/next', { params: { agent: 'w' }, query: 'wait=30', signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  assert.equal((await p).status, 204);
  assert.ok(performance.now() - started < 5000);
  assert.equal(town.waiting(), 0);
});

test('list handlers validate limit, cursor and state in the query (422)', async () => {
  const { call } = harness();
  for (const [path, query, pointer] of [
    ['/v1/agents', 'limit=1001', '/limit'],
    ['/v1/backlog', 'cursor=%%%', '/cursor'],
    ['/v1/tasks', 'state=done', '/state'],
    ['/v1/tasks/pending', 'limit=0', '/limit'],
  ] as const) {
    const err = await problem(call('GET', path, { query }));
    assert.equal(err.code, 'query.invalid', `${path}?${query}`);
    assert.equal(err.extras.errors?.[0]?.pointer, pointer);
  }
});

test('DELETE /v1/backlog/{task_id} answers 200 with a body', async () => {
  const { call } = harness();
  const added = await call('POST', '/v1/backlog', { body: { description: 'job' } });
  const id = (added.body as { task_id: string }).task_id;
  const del = await call('DELETE', '/v1/backlog/{task_id}', { params: { task_id: id } });
  assert.equal(del.status, 200);
  assert.deepEqual([(del.body as { removed: boolean }).removed, (del.body as { state: string }).state], [true, 'cancelled']);
});
