// Idempotency-Key through the real server: a retry replays the first response
// (2xx and 4xx) and creates nothing; a different body is a 422; keys are
// scoped to the principal and the route, expire after 24 hours, and survive a
// restart on the same data directory.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BUTTERCUP_HASH,
  BUTTERCUP_TOKEN,
  startTestServer,
  TINYTOWN_HASH,
  TINYTOWN_KEY,
  type TestServer,
} from '../helpers/server.js';
import { assertProblem } from '../helpers/assertions.js';

const T0 = Date.parse('2026-11-26T12:00:00.000Z');
const DAY_MS = 24 * 60 * 60 * 1000;

const key = (k: string, extra: Record<string, string> = {}): { headers: Record<string, string> } => ({ headers: { 'idempotency-key': k, ...extra } });

describe('Idempotency-Key in mode none', () => {
  let s: TestServer;
  let now = T0;
  before(async () => {
    s = await startTestServer({ clock: { now: () => now } });
    await s.request('POST', '/v1/agents', { body: { name: 'ida' } });
  });
  after(() => s.close());

  test('POST /v1/backlog twice with the same key and body: same status and body, one task', async () => {
    const first = await s.request('POST', '/v1/backlog', { body: { description: 'once', tags: ['a'] }, ...key('k-1') });
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    const second = await s.request('POST', '/v1/backlog', { body: { description: 'once', tags: ['a'] }, ...key('k-1') });
    assert.equal(second.status, 201);
    assert.deepEqual(second.json, first.json);
    assert.equal(second.json.task_id, first.json.task_id);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    const backlog = await s.request('GET', '/v1/backlog');
    assert.equal(backlog.json.total, 1);
    assert.deepEqual(backlog.json.backlog.map((t: any) => t.id), [first.json.id]);
  });

  test('the same key with a different body is a 422 and creates nothing', async () => {
    const r = await s.request('POST', '/v1/backlog', { body: { description: 'twice' }, ...key('k-1') });
    assertProblem(r, 422, 'idempotency.mismatch');
    assert.equal((await s.request('GET', '/v1/backlog')).json.total, 1);
  });

  test('without a key every POST creates', async () => {
    await s.request('POST', '/v1/backlog', { body: { description: 'plain' } });
    await s.request('POST', '/v1/backlog', { body: { description: 'plain' } });
    assert.equal((await s.request('GET', '/v1/backlog')).json.total, 3);
  });

  test('keys are scoped to the route: the same key on another route runs', async () => {
    const r = await s.request('POST', '/v1/messages/send', { body: { to: 'ida', message: 'hi' }, ...key('k-1') });
    assert.equal(r.status, 201);
    assert.equal(r.headers['idempotent-replayed'], undefined);
    const again = await s.request('POST', '/v1/messages/send', { body: { to: 'ida', message: 'hi' }, ...key('k-1') });
    assert.equal(again.json.message_id, r.json.message_id);
    assert.equal((await s.request('GET', '/v1/agents/ida/inbox')).json.total, 1, 'one message queued');
  });

  test('POST /v1/tasks/assign and POST /v1/agents replay too', async () => {
    const a1 = await s.request('POST', '/v1/tasks/assign', { body: { agent: 'ida', task: 'job' }, ...key('assign-1') });
    const a2 = await s.request('POST', '/v1/tasks/assign', { body: { agent: 'ida', task: 'job' }, ...key('assign-1') });
    assert.equal(a1.status, 201);
    assert.deepEqual(a2.json, a1.json);
    assert.equal((await s.request('GET', '/v1/tasks?state=assigned')).json.total, 1);
    const g1 = await s.request('POST', '/v1/agents', { body: { name: 'gus' }, ...key('spawn-1') });
    const g2 = await s.request('POST', '/v1/agents', { body: { name: 'gus' }, ...key('spawn-1') });
    assert.equal(g1.status, 201);
    assert.equal(g2.status, 201, 'a replay, not a duplicate-name 409');
    assert.deepEqual(g2.json, g1.json);
  });

  test(
    'a 4xx answer is replayed as well, even after the conflict is gone',
    async () => {
    const first = await s.request('POST', '/v1/agents', { body: { name: 'ida' }, ...key('dup-1') });
    assertProblem(first, 409, 'town.agent_exists');
    await s.request('POST', '/v1/agents/ida/kill');
    assert.deepEqual((await s.request('POST', '/v1/agents/prune')).json.agents, ['ida']);
    const replay = await s.request('POST', '/v1/agents', { body: { name: 'ida' }, ...key('dup-1') });
    assert.equal(replay.status, 409);
    const { request_id: replayId, ...replayed } = replay.json;
    const { request_id: _firstId, ...original } = first.json;
    assert.deepEqual(replayed, original, 'the stored problem');
    // The problem names this request, so it matches the X-Request-Id the client sees.
    assert.equal(replayId, replay.headers['x-request-id']);
    assert.equal((await s.request('GET', '/v1/agents/ida')).status, 404);
    },
  );

  test('concurrent retries with one key run the handler once', async () => {
    const body = { description: 'raced' };
    const results = await Promise.all(Array.from({ length: 5 }, () => s.request('POST', '/v1/backlog', { body, ...key('race-1') })));
    for (const r of results) {
      assert.equal(r.status, 201);
      assert.equal(r.json.id, results[0]!.json.id);
    }
    const raced = (await s.request('GET', '/v1/backlog')).json.backlog.filter((t: any) => t.description === 'raced');
    assert.equal(raced.length, 1);
  });

  test('a malformed key is a 422 and creates nothing', async () => {
    const before = (await s.request('GET', '/v1/backlog')).json.total;
    for (const k of ['has space', 'x'.repeat(256)]) {
      const r = await s.request('POST', '/v1/backlog', { body: { description: 'bad key' }, ...key(k) });
      assertProblem(r, 422, 'body.invalid');
      assert.deepEqual(r.json.errors.map((e: any) => e.pointer), ['/headers/idempotency-key']);
    }
    assert.equal((await s.request('GET', '/v1/backlog')).json.total, before);
  });

  test('a key expires after 24 hours: the same request then runs again', async () => {
    const first = await s.request('POST', '/v1/backlog', { body: { description: 'daily' }, ...key('day-1') });
    now = T0 + DAY_MS - 1;
    assert.equal((await s.request('POST', '/v1/backlog', { body: { description: 'daily' }, ...key('day-1') })).json.id, first.json.id);
    now = T0 + DAY_MS + 1;
    const later = await s.request('POST', '/v1/backlog', { body: { description: 'daily' }, ...key('day-1') });
    assert.equal(later.status, 201);
    assert.notEqual(later.json.id, first.json.id);
    assert.equal(later.headers['idempotent-replayed'], undefined);
  });
});

describe('Idempotency-Key is scoped to the principal', () => {
  let s: TestServer;
  const asA = { authorization: `Bearer ${TINYTOWN_KEY}` };
  const asB = { authorization: `Bearer ${BUTTERCUP_TOKEN}` };
  before(async () => {
    s = await startTestServer({
      toml: `
[townhall.auth]
mode = "api_key"
[[townhall.auth.keys]]
id = "alpha"
hash = "${TINYTOWN_HASH}"
scopes = []
[[townhall.auth.keys]]
id = "beta"
hash = "${BUTTERCUP_HASH}"
scopes = ["admin"]
`,
    });
  });
  after(() => s.close());

  test('two admins using one key get independent results', async () => {
    const a1 = await s.request('POST', '/v1/backlog', { body: { description: 'shared' }, ...key('shared-key', asA) });
    const b1 = await s.request('POST', '/v1/backlog', { body: { description: 'shared' }, ...key('shared-key', asB) });
    assert.equal(a1.status, 201, a1.text);
    assert.equal(b1.status, 201, b1.text);
    assert.notEqual(a1.json.id, b1.json.id);
    assert.equal(b1.headers['idempotent-replayed'], undefined);
    const a2 = await s.request('POST', '/v1/backlog', { body: { description: 'shared' }, ...key('shared-key', asA) });
    const b2 = await s.request('POST', '/v1/backlog', { body: { description: 'shared' }, ...key('shared-key', asB) });
    assert.equal(a2.json.id, a1.json.id);
    assert.equal(b2.json.id, b1.json.id);
    assert.equal((await s.request('GET', '/v1/backlog', { headers: asA })).json.total, 2);
  });

  test('a different body under the other principal is not a mismatch', async () => {
    const b = await s.request('POST', '/v1/backlog', { body: { description: 'mine' }, ...key('alpha-only', asB) });
    const a = await s.request('POST', '/v1/backlog', { body: { description: 'yours' }, ...key('alpha-only', asA) });
    assert.equal(b.status, 201);
    assert.equal(a.status, 201);
    assertProblem(await s.request('POST', '/v1/backlog', { body: { description: 'other' }, ...key('alpha-only', asA) }), 422, 'idempotency.mismatch');
  });

  test('an unauthenticated retry is a 401, never a replay', async () => {
    const r = await s.request('POST', '/v1/backlog', { body: { description: 'shared' }, ...key('shared-key') });
    assert.equal(r.status, 401);
    assert.equal(r.json.id, undefined);
  });
});

describe('Idempotency-Key survives a restart (durability always)', () => {
  let storeDir: string;
  let toml: string;
  const servers: TestServer[] = [];
  before(async () => {
    storeDir = await mkdtemp(join(tmpdir(), 'townhall-idem-store-'));
    toml = `name = "durable"\n[townhall.store]\npath = ${JSON.stringify(storeDir)}\ndurability = "always"\n`;
  });
  after(async () => {
    for (const s of servers) await s.close().catch(() => undefined);
    await rm(storeDir, { recursive: true, force: true });
  });

  test('a retry to a second server on the same directory replays the first response', async () => {
    const first = await startTestServer({ toml });
    servers.push(first);
    const created = await first.request('POST', '/v1/backlog', { body: { description: 'survive' }, ...key('restart-1') });
    assert.equal(created.status, 201, created.text);
    await first.close();
    servers.pop();

    const second = await startTestServer({ toml });
    servers.push(second);
    const replay = await second.request('POST', '/v1/backlog', { body: { description: 'survive' }, ...key('restart-1') });
    assert.equal(replay.status, 201);
    assert.deepEqual(replay.json, created.json);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    const backlog = await second.request('GET', '/v1/backlog');
    assert.equal(backlog.json.total, 1);
    assert.deepEqual(backlog.json.backlog[0], created.json, 'the task itself survived too');
    assertProblem(await second.request('POST', '/v1/backlog', { body: { description: 'changed' }, ...key('restart-1') }), 422, 'idempotency.mismatch');
    assert.equal((await second.request('GET', '/v1/backlog')).json.total, 1);
  });
});
