// The request pipeline through the real server in mode none: public routes,
// routing errors, request ids, body limits and types, timeouts, metrics and
// the audit of mutations.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseAuditLine, startTestServer, type TestServer } from '../helpers/server.js';

function rawRequest(port: number, text: string, waitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(data));
    socket.write(text);
    setTimeout(() => socket.end(), waitMs);
  });
}

describe('pipeline in mode none', () => {
  let s: TestServer;
  let now = Date.parse('2026-11-26T12:00:00Z');
  before(async () => {
    s = await startTestServer({
      clock: { now: () => now },
      toml: `name = "testville"\n[townhall]\nmax_body_bytes = 256\nrequest_timeout_ms = 300\n`,
    });
  });
  after(() => s.close());

  test('/health counts uptime from start; the aliases answer too', async () => {
    now += 42_000;
    const r = await s.request('GET', '/health');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok', uptime_secs: 42, url: `http://127.0.0.1:${s.port}` });
    for (const path of ['/healthz', '/ready', '/readyz']) assert.equal((await s.request('GET', path)).status, 200);
  });

  test('mode none serves protected routes as principal local', async () => {
    const r = await s.request('GET', '/v1/status');
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'testville');
    assert.equal(r.json.auth_mode, 'none');
  });

  test('a reused /v1/status answer: same bytes within a second, own request ids, and every write shown at once', async () => {
    const a = await s.request('GET', '/v1/status');
    const b = await s.request('GET', '/v1/status', { headers: { 'X-Request-Id': 'mine-1' } });
    assert.equal(b.text, a.text);
    assert.notEqual(a.headers['x-request-id'], undefined);
    assert.equal(b.headers['x-request-id'], 'mine-1');
    assert.equal(b.headers['content-length'], String(Buffer.byteLength(a.text)));
    const head = await s.request('HEAD', '/v1/status');
    assert.equal(head.text, '');
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(a.text)));
    const before = a.json.backlog as number;
    assert.equal((await s.request('POST', '/v1/backlog', { body: { description: 'shown at once' } })).status, 201);
    assert.equal((await s.request('GET', '/v1/status')).json.backlog, before + 1);
    now += 1000;
    assert.equal((await s.request('GET', '/v1/status')).json.uptime_secs, a.json.uptime_secs + 1);
  });

  test('pipelined requests answered without waiting are all answered, in order', async () => {
    const paths = ['/v1/status', '/health', '/v1/status', '/nope', '/v1/status', '/health', '/v1/status', '/v1/status', '/health', '/v1/status'];
    const text = await rawRequest(s.port, paths.map((p, i) => `GET ${p} HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-${i}\r\n\r\n`).join(''), 300);
    // Each answer's status line follows the previous body directly (no line break of its own).
    const answers = [...text.matchAll(/HTTP\/1\.1 (\d{3})[\s\S]*?\r\nX-Request-Id: (\S+)\r\n/g)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(answers, paths.map((p, i) => `${p === '/nope' ? 404 : 200} pipe-${i}`));
  });

  test('HEAD is served by GET routes, with headers and no body', async () => {
    const r = await s.request('HEAD', '/health');
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    assert.ok(Number(r.headers['content-length']) > 0);
  });

  test('unknown path is a 404 problem; wrong method a 405 with Allow', async () => {
    const nf = await s.request('GET', '/nope');
    assert.equal(nf.status, 404);
    assert.match(String(nf.headers['content-type']), /^application\/problem\+json/);
    assert.equal(nf.json.status, 404);
    const na = await s.request('DELETE', '/health');
    assert.equal(na.status, 405);
    assert.equal(na.headers['allow'], 'GET, HEAD');
  });

  // Regression: errors answered synchronously, before Node marked a bodiless
  // request complete, closed the connection every time (no keep-alive on 404s).
  test('an error on a bodiless request keeps the connection; an unread body closes it', async () => {
    assert.notEqual((await s.request('GET', '/nope')).headers['connection'], 'close');
    const unread = await s.request('POST', '/v1/backlog', { body: 'x'.repeat(400), headers: { 'content-type': 'application/json' } });
    assert.equal(unread.status, 413);
    assert.equal(unread.headers['connection'], 'close');
  });

  test('malformed percent-encoding in the path is a 400', async () => {
    const r = await s.request('GET', '/v1/agents/%E0%A4%A');
    assert.equal(r.status, 400);
    assert.equal(r.json.status, 400);
  });

  test('X-Request-Id: a safe client id is echoed, an unsafe one replaced', async () => {
    assert.equal((await s.request('GET', '/health', { headers: { 'x-request-id': 'abc-123_x:y.z' } })).headers['x-request-id'], 'abc-123_x:y.z');
    const replaced = (await s.request('GET', '/health', { headers: { 'x-request-id': 'bad id with spaces' } })).headers['x-request-id'];
    assert.match(String(replaced), /^[0-9a-f]{12}-\d+$/);
    const long = (await s.request('GET', '/health', { headers: { 'x-request-id': 'a'.repeat(129) } })).headers['x-request-id'];
    assert.notEqual(long, 'a'.repeat(129));
  });

  test('a body over max_body_bytes is a 413, declared or streamed', async () => {
    const declared = await s.request('POST', '/v1/backlog', { body: { description: 'x'.repeat(400) } });
    assert.equal(declared.status, 413);
    const chunked = await rawRequest(
      s.port,
      'POST /v1/backlog HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `190\r\n${'{'.padEnd(400, ' ')}\r\n0\r\n\r\n`,
      300,
    );
    assert.match(chunked, /^HTTP\/1\.1 413/);
  });

  test('a non-JSON content type is a 415; malformed JSON a 400; invalid fields a 422 with pointers', async () => {
    assert.equal((await s.request('POST', '/v1/backlog', { body: 'description=x', headers: { 'content-type': 'text/plain' } })).status, 415);
    const bad = await s.request('POST', '/v1/backlog', { body: '{"description":', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
    const invalid = await s.request('POST', '/v1/backlog', { body: { description: 5, colour: 'red' } });
    assert.equal(invalid.status, 422);
    const pointers = (invalid.json.errors as Array<{ pointer: string }>).map((e) => e.pointer).sort();
    assert.deepEqual(pointers, ['/colour', '/description']);
  });

  test('a request whose body never arrives gets a 408 problem', async () => {
    const text = await rawRequest(s.port, 'POST /v1/backlog HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"desc', 1500);
    assert.match(text, /^HTTP\/1\.1 408/);
    assert.match(text, /application\/problem\+json/);
  });

  test('mutations are audited with principal local; reads are not', async () => {
    const before = s.audit.length;
    await s.request('GET', '/v1/status', { headers: { 'x-request-id': 'read-1' } });
    await s.request('POST', '/v1/backlog?secret=q', { body: { description: 'audited' }, headers: { 'x-request-id': 'write-1' } });
    const lines = s.audit.slice(before).map(parseAuditLine);
    assert.equal(lines.filter((l) => l['client_request_id'] === 'read-1').length, 0);
    const w = lines.find((l) => l['client_request_id'] === 'write-1');
    assert.ok(w);
    assert.equal(w['principal'], 'local');
    assert.equal(w['status'], '201');
    assert.equal(w['result'], 'success');
    assert.equal(w['path'], '/v1/backlog');
    assert.equal(w['level'], 'INFO');
  });

  test('a mutating request to an unknown path is audited as anonymous', async () => {
    await s.request('DELETE', '/v1/nothing-here', { headers: { 'x-request-id': 'nf-del' } });
    const line = parseAuditLine(s.audit.find((l) => l.includes('nf-del'))!);
    assert.equal(line['principal'], 'anonymous');
    assert.equal(line['status'], '404');
    assert.equal(line['result'], 'error');
  });

  test('/metrics is Prometheus text with requests by route pattern', async () => {
    await s.request('GET', '/v1/agents/someone');
    const r = await s.request('GET', '/metrics');
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.match(r.text, /townhall_http_requests_total\{route="\/v1\/agents\/\{agent\}",method="GET",status="404"\} 1/);
    assert.match(r.text, /townhall_uptime_seconds \d+/);
    assert.doesNotMatch(r.text, /someone/);
  });
});

describe('JSON audit format', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ toml: `[townhall.log]\nformat = "json"\n` });
  });
  after(() => s.close());

  test('each audit line is one JSON object with a numeric status', async () => {
    await s.request('POST', '/v1/backlog', { body: { description: 'j' }, headers: { 'x-request-id': 'json-1' } });
    const obj = s.audit.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => o['client_request_id'] === 'json-1');
    assert.ok(obj);
    assert.equal(obj['status'], 201);
    assert.equal(obj['level'], 'INFO');
    assert.equal(obj['msg'], 'operation completed');
    assert.equal(obj['method'], 'POST');
    assert.equal(typeof obj['time'], 'string');
    assert.equal(obj['scopes'], 'admin');
  });
});
