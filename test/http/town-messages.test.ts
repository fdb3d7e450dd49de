// Messages through the real server: send (defaults, validation, 404s),
// delivery order (urgent first, FIFO within each), non-destructive inbox reads
// (GET and the read-only POST), inbox/next with 204 when empty, long-polls
// woken by a send, and long-polls not cut by request_timeout_ms.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { parseAuditLine, startTestServer, type TestServer } from '../helpers/server.js';
import { assertProblem, pointers } from '../helpers/assertions.js';

const T0 = Date.parse('2026-11-26T12:00:00.000Z');
const MESSAGE_FIELDS = ['body', 'created_at', 'from', 'id', 'kind', 'message_id', 'task_id', 'to', 'to_agent', 'urgent'].sort();

describe('messages over HTTP', () => {
  let s: TestServer;
  let now = T0;
  let mia: any;
  before(async () => {
    s = await startTestServer({ clock: { now: () => now } });
    mia = (await s.request('POST', '/v1/agents', { body: { name: 'mia' } })).json;
    await s.request('POST', '/v1/agents', { body: { name: 'max' } });
  });
  after(() => s.close());

  test('send answers 201 with the full message and message_id; defaults: from supervisor, kind task, not urgent', async () => {
    now = T0 + 1234;
    const r = await s.request('POST', '/v1/messages/send', { body: { to: 'mia', message: 'hello' } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), MESSAGE_FIELDS);
    assert.equal(r.json.message_id, r.json.id);
    assert.equal(r.json.from, 'supervisor');
    assert.equal(r.json.to, 'mia');
    assert.equal(r.json.kind, 'task');
    assert.equal(r.json.body, 'hello');
    assert.equal(r.json.urgent, false);
    assert.equal(r.json.task_id, null);
    assert.equal(r.json.created_at, '2026-11-26T12:00:01.234Z');
    const inbox = await s.request('GET', '/v1/agents/mia/inbox');
    const { message_id: _m, ...record } = r.json;
    assert.deepEqual(inbox.json.messages, [record], 'the inbox holds the stored record');
    assert.equal((await s.request('POST', '/v1/agents/mia/inbox/next')).json.id, r.json.id);
  });

  test('from and to take names or ids (any case) and are stored as names; conductor is the supervisor', async () => {
    const r = await s.request('POST', '/v1/messages/send', { body: { to: mia.id, from: 'MAX', message: 'hi', kind: 'query' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.to, 'mia');
    assert.equal(r.json.from, 'max');
    assert.equal(r.json.kind, 'query');
    const up = await s.request('POST', '/v1/messages/send', { body: { to: 'conductor', from: 'mia', message: 'report', kind: 'info' } });
    assert.equal(up.status, 201);
    assert.equal(up.json.to, 'supervisor');
    assert.equal(up.json.from, 'mia');
    const sup = await s.request('GET', '/v1/agents/supervisor/inbox');
    assert.deepEqual(sup.json.messages.map((m: any) => m.body), ['report']);
    assert.equal((await s.request('POST', '/v1/agents/conductor/inbox/next')).json.body, 'report');
    assert.equal((await s.request('POST', '/v1/agents/mia/inbox/next')).json.body, 'hi');
  });

  test('an unknown kind is a 422, never silently a task; every listed kind is accepted', async () => {
    const r = await s.request('POST', '/v1/messages/send', { body: { to: 'mia', message: 'x', kind: 'telegram' } });
    assertProblem(r, 422, 'body.invalid');
    assert.deepEqual(pointers(r), ['/kind']);
    assert.equal((await s.request('GET', '/v1/agents/mia/inbox')).json.total, 0);
    for (const kind of ['task', 'query', 'info', 'ack', 'task_assign', 'task_done', 'task_failed', 'shutdown']) {
      const ok = await s.request('POST', '/v1/messages/send', { body: { to: 'max', message: kind, kind } });
      assert.equal(ok.status, 201, kind);
      assert.equal(ok.json.kind, kind);
    }
    const taken = [];
    for (let m = await s.request('POST', '/v1/agents/max/inbox/next'); m.status === 200; m = await s.request('POST', '/v1/agents/max/inbox/next')) taken.push(m.json.kind);
    assert.equal(taken.length, 8);
  });

  test('send errors: unknown to or from is a 404, invalid fields a 422; nothing is queued', async () => {
    assertProblem(await s.request('POST', '/v1/messages/send', { body: { to: 'nobody', message: 'x' } }), 404, 'town.agent_not_found');
    assertProblem(await s.request('POST', '/v1/messages/send', { body: { to: 'mia', from: 'nobody', message: 'x' } }), 404, 'town.agent_not_found');
    const invalid = await s.request('POST', '/v1/messages/send', { body: { to: '', message: '', urgent: 'yes', cc: 'max' } });
    assertProblem(invalid, 422, 'body.invalid');
    assert.deepEqual(pointers(invalid), ['/cc', '/message', '/to', '/urgent']);
    const missing = await s.request('POST', '/v1/messages/send', { body: {} });
    assert.deepEqual(pointers(missing), ['/message', '/to']);
    assertProblem(await s.request('POST', '/v1/messages/send', { body: '{"to":"mia",', headers: { 'content-type': 'application/json' } }), 400, 'body.malformed_json');
    assertProblem(await s.request('POST', '/v1/messages/send', { body: 'to=mia', headers: { 'content-type': 'text/plain' } }), 415, 'body.unsupported_media_type');
    assert.equal((await s.request('GET', '/v1/agents/mia/inbox')).json.total, 0);
    assert.equal((await s.request('GET', '/v1/agents/supervisor/inbox')).json.total, 0);
  });

  test('delivery order: urgent before normal, FIFO within each', async () => {
    const plan: Array<[string, string, boolean]> = [
      ['n1', 'task', false],
      ['u1', 'info', true],
      ['n2', 'query', false],
      ['u2', 'task', true],
      ['n3', 'task', false],
      ['u3', 'query', true],
      ['n4', 'info', false],
    ];
    for (const [message, kind, urgent] of plan) {
      assert.equal((await s.request('POST', '/v1/messages/send', { body: { to: 'mia', message, kind, urgent } })).status, 201);
    }
    const expected = ['u1', 'u2', 'u3', 'n1', 'n2', 'n3', 'n4'];
    const get1 = await s.request('GET', '/v1/agents/mia/inbox');
    assert.equal(get1.status, 200);
    assert.deepEqual(Object.keys(get1.json).sort(), ['agent', 'count', 'messages', 'next_cursor', 'total', 'urgent']);
    assert.equal(get1.json.agent, 'mia');
    assert.deepEqual(get1.json.messages.map((m: any) => m.body), expected);
    assert.equal(get1.json.count, 7);
    assert.equal(get1.json.total, 7);
    assert.equal(get1.json.urgent, 3);
    assert.equal(get1.json.next_cursor, null);

    const get2 = await s.request('GET', `/v1/agents/${mia.id}/inbox`);
    assert.deepEqual(get2.json, get1.json, 'GET inbox is non-destructive');
    const post = await s.request('POST', '/v1/agents/mia/inbox');
    assert.equal(post.status, 200);
    assert.deepEqual(post.json, get1.json, 'POST inbox answers the same');
    const post2 = await s.request('POST', '/v1/agents/mia/inbox', { body: {} });
    assert.deepEqual(post2.json, get1.json, 'POST inbox is read-only too');

    const popped: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await s.request('POST', '/v1/agents/mia/inbox/next');
      assert.equal(r.status, 200);
      assert.equal(r.json.message_id, r.json.id);
      popped.push(r.json.body);
      assert.equal((await s.request('GET', '/v1/agents/mia/inbox')).json.total, 6 - i, 'each pop removes exactly one');
    }
    assert.deepEqual(popped, expected);
    const empty = await s.request('POST', '/v1/agents/mia/inbox/next');
    assert.equal(empty.status, 204);
    assert.equal(empty.text, '');
  });

  test('inbox/next marks the agent active', async () => {
    now = T0 + 9000;
    await s.request('POST', '/v1/messages/send', { body: { to: 'mia', message: 'wake' } });
    await s.request('POST', '/v1/agents/mia/inbox/next');
    assert.equal((await s.request('GET', '/v1/agents/mia')).json.last_active_at, '2026-11-26T12:00:09.000Z');
  });

  test('inbox routes for an unknown agent are 404', async () => {
    assertProblem(await s.request('GET', '/v1/agents/nobody/inbox'), 404, 'town.agent_not_found');
    assertProblem(await s.request('POST', '/v1/agents/nobody/inbox'), 404, 'town.agent_not_found');
    assertProblem(await s.request('POST', '/v1/agents/nobody/inbox/next'), 404, 'town.agent_not_found');
    assertProblem(await s.request('POST', '/v1/agents/nobody/inbox/next?wait=1'), 404, 'town.agent_not_found');
  });

  test('wait over 30, or not a whole number, is a 422 with pointer /wait; nothing is popped', async () => {
    await s.request('POST', '/v1/messages/send', { body: { to: 'mia', message: 'keep me' } });
    for (const wait of ['31', '100', '-1', 'abc', '1.5']) {
      const r = await s.request('POST', `/v1/agents/mia/inbox/next?wait=${wait}`);
      assertProblem(r, 422, 'query.invalid');
      assert.deepEqual(pointers(r), ['/wait'], `wait=${wait}`);
    }
    assert.equal((await s.request('GET', '/v1/agents/mia/inbox')).json.total, 1);
    const r = await s.request('POST', '/v1/agents/mia/inbox/next?wait=30');
    assert.equal(r.status, 200, 'wait=30 is allowed and answers at once when a message is queued');
    assert.equal(r.json.body, 'keep me');
  });

  test('a long-poll (?wait=2) is woken by a send from another request and returns that message', async () => {
    const poll = s.request('POST', '/v1/agents/max/inbox/next?wait=2');
    await sleep(200);
    const sent = await s.request('POST', '/v1/messages/send', { body: { to: 'max', message: 'ping', kind: 'query', from: 'mia' } });
    assert.equal(sent.status, 201);
    const r = await poll;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.message_id, sent.json.id);
    assert.equal(r.json.body, 'ping');
    assert.equal(r.json.from, 'mia');
    assert.equal((await s.request('GET', '/v1/agents/max/inbox')).json.total, 0, 'the message was consumed once');
  });

  test('a long-poll whose client went away does not take the message', async () => {
    const req = httpRequest({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/v1/agents/max/inbox/next?wait=5' });
    req.on('error', () => undefined);
    req.end();
    await sleep(200);
    req.destroy();
    await sleep(100);
    const sent = await s.request('POST', '/v1/messages/send', { body: { to: 'max', message: 'for a live reader' } });
    assert.equal(sent.status, 201);
    const inbox = await s.request('GET', '/v1/agents/max/inbox');
    assert.deepEqual(inbox.json.messages.map((m: any) => m.id), [sent.json.id], 'the message is still queued');
    assert.equal((await s.request('POST', '/v1/agents/max/inbox/next')).json.id, sent.json.id);
  });

  test('a supervisor long-poll is woken by a task completion', async () => {
    const t = (await s.request('POST', '/v1/tasks/assign', { body: { agent: 'max', task: 'quick job' } })).json;
    await s.request('POST', `/v1/tasks/${t.id}/start`);
    const poll = s.request('POST', '/v1/agents/supervisor/inbox/next?wait=2');
    await sleep(200);
    assert.equal((await s.request('POST', `/v1/tasks/${t.id}/complete`, { body: { result: 'done' } })).status, 200);
    const r = await poll;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.kind, 'task_done');
    assert.equal(r.json.task_id, t.id);
  });

  test('message sends and pops are audited once each', async () => {
    const cases: Array<[string, unknown, number]> = [
      ['/v1/messages/send', { to: 'mia', message: 'a' }, 201],
      ['/v1/messages/send', { to: 'mia', message: 'a', kind: 'nope' }, 422],
      ['/v1/agents/mia/inbox/next', undefined, 200],
      ['/v1/agents/mia/inbox/next', undefined, 204],
    ];
    for (const [i, [path, body, status]] of cases.entries()) {
      const id = `msg-audit-${i}`;
      assert.equal((await s.request('POST', path, { body, headers: { 'x-request-id': id } })).status, status);
      const lines = s.audit.filter((l) => l.includes(`"${id}"`)).map(parseAuditLine);
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!['status'], String(status));
      assert.equal(lines[0]!['operation'], path.endsWith('/next') ? 'message.next' : 'message.send');
      assert.equal(lines[0]!['transport'], 'http');
    }
  });

  test('reading an inbox with POST is a read: not audited as a mutation (the operation decides, not the method)', async () => {
    const r = await s.request('POST', '/v1/agents/mia/inbox', { headers: { 'x-request-id': 'inbox-read-post' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(s.audit.filter((l) => l.includes('"inbox-read-post"')), []);
  });
});

describe('long-polls and request_timeout_ms', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ toml: '[townhall]\nrequest_timeout_ms = 300\n' });
    await s.request('POST', '/v1/agents', { body: { name: 'sleepy' } });
  });
  after(() => s.close());

  test('?wait=1 on an empty mailbox answers 204 after the wait, not 408', async () => {
    const r = await s.request('POST', '/v1/agents/sleepy/inbox/next?wait=1');
    assert.equal(r.status, 204, r.text);
    assert.equal(r.text, '');
  });

  test('the supervisor mailbox long-polls the same way', async () => {
    const r = await s.request('POST', '/v1/agents/supervisor/inbox/next?wait=1');
    assert.equal(r.status, 204, r.text);
  });
});
