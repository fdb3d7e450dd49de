// Buttercup's CRS task API through the real server, as the AIxCC competition
// API, Buttercup's UI client (Python `requests`) and `curl -u` call it: Basic
// auth with a UUID key id, "DONE"/"" bodies, FastAPI-shaped errors, trailing
// and bare paths, dedupe, cancels, SARIF, deadlines and the /status/ counts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiKeysToml, BUTTERCUP_HASH, BUTTERCUP_TOKEN, parseAuditLine, startTestServer, TINYTOWN_HASH, TINYTOWN_KEY, type TestServer } from '../helpers/server.js';

const KEY_ID = '7d3e2a10-5b4c-4f8e-9a1d-2c6b8e0f4a3b';
const basic = (id: string, token: string): string => `Basic ${Buffer.from(`${id}:${token}`).toString('base64')}`;
/** What `curl -u id:token` and `requests.post(..., auth=(id, token))` send. */
const CRS = { authorization: basic(KEY_ID, BUTTERCUP_TOKEN) };
const ADMIN = { authorization: `Bearer ${TINYTOWN_KEY}` };
const hex = (c: string): string => c.repeat(64);

/** The issue's example task (a delta task as the competition's mock sends it), with a deadline ahead. */
function exampleTask(overrides: { message_id?: string; task_id?: string; deadline?: number; harnesses_included?: boolean } = {}) {
  return {
    message_id: overrides.message_id ?? '6b0e8f1c-6d1e-4b0a-9d8e-2f1f1b7f7a10',
    message_time: 1735689600000,
    tasks: [{
      deadline: overrides.deadline ?? Date.now() + 4 * 3600_000,
      focus: 'example-libpng',
      harnesses_included: overrides.harnesses_included ?? true,
      metadata: { round_id: 'exhibition-1' },
      project_name: 'libpng',
      source: [
        { sha256: hex('a'), type: 'repo', url: 'http://files.local/repo.tar.gz' },
        { sha256: hex('b'), type: 'fuzz-tooling', url: 'http://files.local/tooling.tar.gz' },
        { sha256: hex('c'), type: 'diff', url: 'http://files.local/diff.tar.gz' },
      ],
      task_id: overrides.task_id ?? '0f3c1f5e-8a7b-4c2d-9e1f-3a5b7c9d1e2f',
      type: 'delta',
    }],
  };
}

const TOML = (extra = '', crsScopes: readonly string[] = ['town.read', 'town.write']) => `
${apiKeysToml([
  { id: KEY_ID, hash: BUTTERCUP_HASH, scopes: crsScopes },
  { id: 'admin', hash: TINYTOWN_HASH, scopes: [] },
])}${extra}`;

let counter = 0;
const uuid = (): string => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;

describe('Buttercup CRS task API', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ toml: TOML() });
  });
  after(() => s.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = CRS) => s.request('POST', path, { headers, body });

  test('the example task is accepted with curl -u style Basic auth, answered "DONE" and lands in the backlog', async () => {
    const r = await post('/v1/task/', exampleTask(), { ...CRS, 'content-type': 'application/json' });
    assert.equal(r.status, 200);
    assert.equal(r.text, '"DONE"');
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const backlog = await s.request('GET', '/v1/backlog', { headers: CRS });
    const task = backlog.json.backlog.find((t: any) => t.task_id === '0f3c1f5e-8a7b-4c2d-9e1f-3a5b7c9d1e2f');
    assert.ok(task, JSON.stringify(backlog.json));
    assert.deepEqual(task.tags, ['crs', 'crs:delta', 'project:libpng']);
    assert.equal(task.source, 'crs');
    assert.equal(task.payload.focus, 'example-libpng');
    assert.deepEqual(task.payload.metadata, { round_id: 'exhibition-1' });
    assert.match(task.description, /CRS delta task 0f3c1f5e.* libpng/);
    const audit = s.audit.map(parseAuditLine).find((a) => a.operation === 'crs.submit_tasks');
    assert.equal(audit?.principal, KEY_ID);
    assert.equal(audit?.status, '200');
  });

  test("Buttercup's UI client (Python requests) reads every success as success", async () => {
    // What `requests.post(url, json=..., auth=(id, token), timeout=30)` sends, on one kept-alive connection.
    const requestsHeaders = { ...CRS, 'user-agent': 'python-requests/2.32.3', accept: '*/*', 'accept-encoding': 'gzip, deflate', connection: 'keep-alive', 'content-type': 'application/json' };
    // CRSClient's rule (orchestrator/ui/competition_api): 200/202 and no error marker in a JSON object.
    const MARKERS = ['error', 'message', 'detail', 'reason', 'error_code', 'code', 'validation_errors', 'errors', 'field_errors', 'constraint_violations'];
    const accepted = (r: { status: number; json: any }): boolean =>
      (r.status === 200 || r.status === 202) &&
      (typeof r.json !== 'object' || r.json === null || Array.isArray(r.json) ||
        (!MARKERS.some((k) => k in r.json) && !['error', 'failed', 'failure', 'invalid', 'rejected'].includes(r.json.status) && r.json.success !== false && r.json.accepted !== false && r.json.valid !== false));
    const calls = [
      await s.request('POST', '/v1/task/', { headers: requestsHeaders, body: exampleTask({ message_id: uuid(), task_id: uuid() }) }),
      await s.request('POST', '/v1/sarif/', { headers: requestsHeaders, body: { message_id: uuid(), message_time: Date.now(), broadcasts: [] } }),
      await s.request('GET', '/status/', { headers: requestsHeaders }),
    ];
    for (const r of calls) assert.ok(accepted(r), `${r.status} ${r.text}`);
    assert.equal(calls[2]!.json.ready, true);
    // And a refusal is read as one.
    assert.equal(accepted(await s.request('POST', '/v1/task/', { headers: requestsHeaders, body: { tasks: 'x' } })), false);
  });

  test('a retried message and an already known task id are not queued twice', async () => {
    const msg = exampleTask({ message_id: uuid(), task_id: uuid() });
    for (let i = 0; i < 2; i++) assert.equal((await post('/v1/task/', msg)).text, '"DONE"');
    // Same task under a new message id: still one task.
    assert.equal((await post('/v1/task', { ...msg, message_id: uuid() })).text, '"DONE"');
    const tasks = await s.request('GET', `/v1/tasks?tag=crs&limit=1000`, { headers: CRS });
    assert.equal(tasks.json.tasks.filter((t: any) => t.id === msg.tasks[0]!.task_id).length, 1);
  });

  test('every path is served with and without its trailing slash, never redirected', async () => {
    const cases: Array<[string, string, unknown?]> = [
      ['POST', '/v1/task', exampleTask({ message_id: uuid(), task_id: uuid() })],
      ['POST', '/v1/task/', exampleTask({ message_id: uuid(), task_id: uuid() })],
      ['POST', '/v1/sarif', { message_id: uuid(), message_time: 1, broadcasts: [] }],
      ['POST', '/v1/sarif/', { message_id: uuid(), message_time: 1, broadcasts: [] }],
      ['DELETE', `/v1/task/${uuid()}`],
      ['DELETE', `/v1/task/${uuid()}/`],
      ['GET', '/status'],
      ['GET', '/status/'],
    ];
    for (const [method, path, body] of cases) {
      const r = await s.request(method, path, { headers: CRS, ...(body === undefined ? {} : { body }) });
      assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
      assert.equal(r.headers.location, undefined);
      if (method === 'POST' && path.startsWith('/v1/task')) assert.equal(r.text, '"DONE"');
      else if (method !== 'GET') assert.equal(r.text, '""');
    }
  });

  test('every 401 reason answers FastAPI-style with a Basic challenge, and each reason is audited', async () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      ['no credential', {}, 'missing'],
      ['malformed Basic', { authorization: 'Basic %%%not-base64' }, 'malformed'],
      ['Basic without a colon', { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }, 'malformed'],
      ['unknown key id', { authorization: basic('11111111-1111-1111-1111-111111111111', BUTTERCUP_TOKEN) }, 'unknown_key'],
      ['wrong token', { authorization: basic(KEY_ID, 'wrong-token-wrong-token-wrong-tok') }, 'wrong_secret'],
      ['wrong Bearer', { authorization: 'Bearer not-a-key-at-all' }, 'wrong_secret'],
    ];
    const pendingBefore = (await s.request('GET', '/status/', { headers: CRS })).json.state.tasks.pending;
    for (const [what, headers, reason] of cases) {
      const before = s.audit.length;
      const r = await s.request('POST', '/v1/task/', { headers, body: exampleTask({ message_id: uuid(), task_id: uuid() }) });
      assert.equal(r.status, 401, what);
      assert.equal(r.headers['www-authenticate'], 'Basic realm="townhall"', what);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.equal(typeof r.json.detail, 'string', what);
      const line = s.audit.slice(before).map(parseAuditLine).find((a) => a.status === '401');
      assert.equal(line?.reason, reason, `${what}: ${JSON.stringify(line)}`);
    }
    // Nothing got queued by the refused requests.
    const status = await s.request('GET', '/status/', { headers: CRS });
    assert.equal(status.status, 200);
    assert.equal(status.json.state.tasks.pending, pendingBefore);

    // A disabled or expired key: the same 401.
    const t = await startTestServer({
      toml: `${TOML()}\n[[townhall.auth.keys]]\nid = "off"\nhash = "${TINYTOWN_HASH}"\ndisabled = true\n[[townhall.auth.keys]]\nid = "old"\nhash = "${TINYTOWN_HASH}"\nexpires_at = 2020-01-01T00:00:00Z\n`,
    });
    try {
      for (const [id, reason] of [['off', 'disabled'], ['old', 'expired']] as const) {
        const r = await t.request('GET', '/status', { headers: { authorization: basic(id, TINYTOWN_KEY) } });
        assert.equal(r.status, 401, id);
        assert.equal(r.headers['www-authenticate'], 'Basic realm="townhall"');
        assert.equal(t.audit.map(parseAuditLine).filter((a) => a.status === '401').pop()?.reason, reason);
      }
    } finally {
      await t.close();
    }
  });

  test('/openapi.json lists the bare paths, with FastAPI-shaped errors; the slash forms are served but unlisted', async () => {
    const doc = (await s.request('GET', '/openapi.json')).json;
    const post = doc.paths['/v1/task'].post;
    assert.equal(post['x-operation'], 'crs.submit_tasks');
    assert.deepEqual(post.responses['200'].content['application/json'].schema, { type: 'string', enum: ['DONE'] });
    assert.deepEqual(Object.keys(post.responses['422'].content), ['application/json']);
    assert.deepEqual(post.responses['422'].content['application/json'].schema.required, ['detail']);
    assert.equal(doc.paths['/v1/task/'], undefined);
    assert.ok(doc.paths['/v1/task/{task_id}'].delete && doc.paths['/status'].get && doc.paths['/v1/sarif'].post);
  });

  test('a key without town.write is refused with 403 {"detail"}', async () => {
    const r = await s.request('DELETE', '/v1/task/', { headers: { authorization: basic('admin', TINYTOWN_KEY) } });
    assert.equal(r.status, 200); // admin may
    const ro = await startTestServer({ toml: TOML('', ['town.read']) });
    try {
      const denied = await ro.request('POST', '/v1/task/', { headers: CRS, body: exampleTask() });
      assert.equal(denied.status, 403);
      assert.match(denied.json.detail, /town\.write/);
    } finally {
      await ro.close();
    }
  });

  test('422s have FastAPI\'s shape and list every problem', async () => {
    const bad = {
      message_id: 42,
      message_time: 'soon',
      tasks: [{ task_id: 'x', type: 'partial', deadline: 1.5, focus: 'f', harnesses_included: 'maybe', metadata: {}, source: [{ type: 'tarball', url: 'u' }] }],
      ignored_extra: true,
    };
    const r = await post('/v1/task/', bad);
    assert.equal(r.status, 422);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const byLoc = new Map((r.json.detail as any[]).map((e) => [e.loc.join('.'), e]));
    for (const e of r.json.detail) assert.deepEqual(Object.keys(e).filter((k) => k !== 'ctx').sort(), ['input', 'loc', 'msg', 'type']);
    assert.deepEqual(byLoc.get('body.message_id'), { type: 'string_type', loc: ['body', 'message_id'], msg: 'Input should be a valid string', input: 42 });
    assert.equal(byLoc.get('body.message_time')?.type, 'int_parsing');
    assert.equal(byLoc.get('body.tasks.0.type')?.type, 'enum');
    assert.equal(byLoc.get('body.tasks.0.type')?.msg, "Input should be 'full' or 'delta'");
    assert.equal(byLoc.get('body.tasks.0.deadline')?.type, 'int_from_float');
    assert.equal(byLoc.get('body.tasks.0.harnesses_included')?.type, 'bool_parsing');
    assert.equal(byLoc.get('body.tasks.0.project_name')?.type, 'missing');
    assert.equal(byLoc.get('body.tasks.0.project_name')?.msg, 'Field required');
    assert.equal(byLoc.get('body.tasks.0.project_name')?.input.task_id, 'x');
    assert.equal(byLoc.get('body.tasks.0.source.0.type')?.msg, "Input should be 'repo', 'fuzz-tooling' or 'diff'");
    assert.equal(byLoc.get('body.tasks.0.source.0.sha256')?.type, 'missing');
    assert.equal(byLoc.has('body.ignored_extra'), false);
  });

  test('numeric strings, integral floats and lax booleans are accepted, unknown keys ignored', async () => {
    const msg: any = exampleTask({ message_id: uuid(), task_id: uuid() });
    msg.message_time = '1735689600000';
    msg.tasks[0].deadline = String(Date.now() + 3600_000);
    msg.tasks[0].harnesses_included = 'yes';
    msg.tasks[0].extra = { anything: 1 };
    msg.extra = 'ignored';
    const r = await post('/v1/task/', msg);
    assert.equal(r.status, 200, r.text);
    const t = await s.request('GET', `/v1/tasks/${msg.tasks[0].task_id}`, { headers: CRS });
    assert.equal(typeof t.json.payload.deadline, 'number');
    assert.equal(t.json.state, 'pending');
  });

  test('body problems: malformed JSON, no body, a non-object, no Content-Type', async () => {
    const malformed = await s.request('POST', '/v1/task/', { headers: { ...CRS, 'content-type': 'application/json' }, body: '{"message_id":' });
    assert.equal(malformed.status, 422);
    assert.equal(malformed.json.detail[0].type, 'json_invalid');
    assert.deepEqual(malformed.json.detail[0].loc, ['body', 0]);
    const none = await s.request('POST', '/v1/task/', { headers: CRS });
    assert.equal(none.status, 422);
    assert.deepEqual(none.json.detail, [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
    const array = await post('/v1/task/', [1, 2]);
    assert.equal(array.status, 422);
    assert.equal(array.json.detail[0].type, 'model_attributes_type');
    assert.deepEqual(array.json.detail[0].loc, ['body']);
    // FastAPI reads a body without Content-Type as JSON; so do we on these paths.
    const untyped = Buffer.from(JSON.stringify(exampleTask({ message_id: uuid(), task_id: uuid() })));
    const r = await s.request('POST', '/v1/task/', { headers: { ...CRS, 'content-length': String(untyped.length) }, body: untyped });
    assert.equal(r.status, 200, r.text);
  });

  test('a task id in the path must be a UUID (422 uuid_parsing at ["path","task_id"]); other UUID forms are accepted', async () => {
    const r = await s.request('DELETE', '/v1/task/not-a-uuid/', { headers: CRS });
    assert.equal(r.status, 422);
    assert.deepEqual(r.json.detail.map((e: any) => [e.type, e.loc, e.input]), [['uuid_parsing', ['path', 'task_id'], 'not-a-uuid']]);
    for (const form of ['0F3C1F5E8A7B4C2D9E1F3A5B7C9D1E2F', '{0f3c1f5e-8a7b-4c2d-9e1f-3a5b7c9d1e2f}', 'urn:uuid:0f3c1f5e-8a7b-4c2d-9e1f-3a5b7c9d1e2f']) {
      assert.equal((await s.request('DELETE', `/v1/task/${encodeURIComponent(form)}/`, { headers: CRS })).status, 200, form);
    }
    // Unauthenticated with a bad UUID: the 401 comes first.
    assert.equal((await s.request('DELETE', '/v1/task/not-a-uuid/')).status, 401);
  });

  test('cancel after arrival cancels the backlog task; cancel before arrival applies when it arrives', async () => {
    const after = exampleTask({ message_id: uuid(), task_id: uuid() });
    await post('/v1/task/', after);
    assert.equal((await s.request('DELETE', `/v1/task/${after.tasks[0]!.task_id}/`, { headers: CRS })).text, '""');
    const a = await s.request('GET', `/v1/tasks/${after.tasks[0]!.task_id}`, { headers: CRS });
    assert.equal(a.json.state, 'cancelled');
    assert.equal(a.json.result, 'cancelled by the competition API');

    const early = exampleTask({ message_id: uuid(), task_id: uuid() });
    assert.equal((await s.request('DELETE', `/v1/task/${early.tasks[0]!.task_id.toUpperCase()}`, { headers: CRS })).status, 200);
    await post('/v1/task/', early);
    const e = await s.request('GET', `/v1/tasks/${early.tasks[0]!.task_id}`, { headers: CRS });
    assert.equal(e.json.state, 'cancelled');
    assert.match(e.json.result, /before the task arrived/);
    const backlog = await s.request('GET', '/v1/backlog?limit=1000', { headers: CRS });
    assert.equal(backlog.json.backlog.some((t: any) => t.id === early.tasks[0]!.task_id), false);
  });
});

describe('Buttercup CRS work flow: status counts, cancel-all, SARIF, deadlines', () => {
  let s: TestServer;
  let now = Date.now();
  before(async () => {
    s = await startTestServer({ toml: `[townhall]\nmax_body_bytes = 1024\n[townhall.crs]\nmax_sarif_bytes = 4096\n${TOML()}`, clock: { now: () => now } });
  });
  after(() => s.close());

  const post = (path: string, body: unknown) => s.request('POST', path, { headers: CRS, body });
  const counts = async () => {
    const r = await s.request('GET', '/status/', { headers: CRS });
    assert.equal(r.status, 200);
    for (const k of ['detail', 'message', 'error']) assert.equal(k in r.json, false);
    return r.json;
  };
  const task = (id: string) => s.request('GET', `/v1/tasks/${id}`, { headers: CRS }).then((r) => r.json);

  test('/status/ counts follow assign, complete, fail and cancel; DELETE /status/ resets the baseline', async () => {
    const ids = [uuid(), uuid(), uuid(), uuid(), uuid()];
    for (const id of ids) await post('/v1/task/', exampleTask({ message_id: uuid(), task_id: id, deadline: now + 3600_000 }));
    await post('/v1/task/', exampleTask({ message_id: uuid(), task_id: uuid(), harnesses_included: false }));
    let st = await counts();
    assert.deepEqual(Object.keys(st), ['details', 'ready', 'since', 'state', 'version']);
    assert.deepEqual(st.state.tasks, { canceled: 1, errored: 0, failed: 0, pending: 5, processing: 0, succeeded: 0, waiting: 0 });
    assert.equal(st.since, 0);
    assert.equal(st.ready, true);

    assert.equal((await s.request('POST', '/v1/agents', { headers: ADMIN, body: { name: 'fuzzer' } })).status, 201);
    for (const id of ids.slice(0, 3)) assert.equal((await s.request('POST', `/v1/backlog/${id}/claim`, { headers: CRS, body: { agent: 'fuzzer' } })).status, 200);
    st = await counts();
    assert.deepEqual([st.state.tasks.pending, st.state.tasks.processing], [2, 3]);

    assert.equal((await s.request('POST', `/v1/tasks/${ids[0]}/complete`, { headers: CRS, body: { result: 'pov found' } })).status, 200);
    assert.equal((await s.request('POST', `/v1/tasks/${ids[1]}/fail`, { headers: CRS, body: { error: 'build broke' } })).status, 200);
    assert.equal((await s.request('DELETE', `/v1/task/${ids[3]}/`, { headers: CRS })).status, 200);
    st = await counts();
    assert.deepEqual(st.state.tasks, { canceled: 2, errored: 0, failed: 1, pending: 1, processing: 1, succeeded: 1, waiting: 0 });

    now += 1000;
    assert.equal((await s.request('DELETE', '/status/', { headers: CRS })).text, '""');
    st = await counts();
    assert.equal(st.since, now);
    assert.deepEqual(st.state.tasks, { canceled: 0, errored: 0, failed: 0, pending: 1, processing: 1, succeeded: 0, waiting: 0 });
  });

  test('cancel-all reaches backlog items and assigned ones; the agent is told and freed', async () => {
    const [queued, held] = [uuid(), uuid()];
    await post('/v1/task/', exampleTask({ message_id: uuid(), task_id: queued, deadline: now + 3600_000 }));
    await post('/v1/task/', exampleTask({ message_id: uuid(), task_id: held, deadline: now + 3600_000 }));
    assert.equal((await s.request('POST', '/v1/agents', { headers: ADMIN, body: { name: 'worker' } })).status, 201);
    await s.request('POST', `/v1/backlog/${held}/claim`, { headers: CRS, body: { agent: 'worker' } });
    await s.request('POST', `/v1/tasks/${held}/start`, { headers: CRS });
    assert.equal((await s.request('DELETE', '/v1/task', { headers: CRS })).text, '""');
    assert.equal((await task(queued)).state, 'cancelled');
    assert.equal((await task(held)).state, 'cancelled');
    const st = await counts();
    assert.deepEqual([st.state.tasks.pending, st.state.tasks.processing], [0, 0]);
    const agent = await s.request('GET', '/v1/agents/worker', { headers: CRS });
    assert.equal(agent.json.current_task, null);
    assert.equal(agent.json.state, 'idle');
    const inbox = await s.request('GET', '/v1/agents/worker/inbox', { headers: CRS });
    assert.ok(inbox.json.messages.some((m: any) => m.kind === 'info' && m.task_id === held && /cancelled/.test(m.body)));
  });

  test('SARIF is stored with its task, delivered to its agent as info, and has its own body limit', async () => {
    const id = uuid();
    await post('/v1/task/', exampleTask({ message_id: uuid(), task_id: id, deadline: now + 3600_000 }));
    await s.request('POST', '/v1/agents', { headers: ADMIN, body: { name: 'triager' } });
    await s.request('POST', `/v1/backlog/${id}/claim`, { headers: CRS, body: { agent: 'triager' } });
    // 2 KB: over max_body_bytes (1024) but within max_sarif_bytes (4096).
    const sarif = { version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ message: { text: 'y'.repeat(2000) } }] }] };
    const r = await post('/v1/sarif/', { message_id: uuid(), message_time: now, broadcasts: [{ sarif_id: 'sarif-1', task_id: id.toUpperCase(), sarif, metadata: { round_id: 'r1' } }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, '""');
    assert.deepEqual((await task(id)).sarif_ids, ['sarif-1']);
    const inbox = await s.request('GET', '/v1/agents/triager/inbox', { headers: CRS });
    const info = inbox.json.messages.find((m: any) => m.kind === 'info');
    assert.equal(JSON.parse(info.body).sarif.version, '2.1.0');
    // The same body on a task route is over the general limit; a bigger SARIF is over its own.
    const tooBig = await post('/v1/task/', { ...exampleTask({ message_id: uuid(), task_id: uuid() }), padding: 'z'.repeat(2000) });
    assert.equal(tooBig.status, 413);
    assert.equal(typeof tooBig.json.detail, 'string');
    const huge = await post('/v1/sarif/', { message_id: uuid(), message_time: now, broadcasts: [{ sarif_id: 's2', task_id: id, sarif: { pad: 'q'.repeat(5000) }, metadata: {} }] });
    assert.equal(huge.status, 413);
  });

  test('deadlines: a past deadline is stored failed; a passing one fails the task on the next read', async () => {
    const late = uuid();
    await post('/v1/task/', exampleTask({ message_id: uuid(), task_id: late, deadline: now - 1 }));
    assert.deepEqual([(await task(late)).state, (await task(late)).result], ['failed', 'deadline passed']);
    const soon = uuid();
    await post('/v1/task/', exampleTask({ message_id: uuid(), task_id: soon, deadline: now + 500 }));
    assert.equal((await task(soon)).state, 'pending');
    const before = (await counts()).state.tasks.failed;
    now += 1000;
    assert.equal((await counts()).state.tasks.failed, before + 1);
    assert.deepEqual([(await task(soon)).state, (await task(soon)).result], ['failed', 'deadline passed']);
  });
});

describe('a Buttercup deployment configured from auth-tool --env --env-prefix BUTTERCUP_TASK_SERVER_', () => {
  test("its server variables start Townhall, and its clients' variables pass curl -u style Basic auth", async () => {
    const { runAuthTool } = await import('../../src/cli/auth-tool.js');
    let out = '';
    const code = await runAuthTool(['--env', '--env-prefix', 'BUTTERCUP_TASK_SERVER_'], { stdout: (t) => (out += t), stderr: () => {}, stdin: async () => '' });
    assert.equal(code, 0);
    const env = Object.fromEntries(out.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const server = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('BUTTERCUP_TASK_SERVER_')));
    const s = await startTestServer({ env: server });
    try {
      const auth = { authorization: basic(env['CRS_API_KEY_ID']!, env['CRS_API_KEY_TOKEN']!) };
      const r = await s.request('POST', '/v1/task/', { headers: { ...auth, 'content-type': 'application/json' }, body: exampleTask() });
      assert.equal(r.text, '"DONE"');
      assert.equal((await s.request('GET', '/v1/backlog', { headers: auth })).json.count, 1);
      // town.read and town.write only: managing agents is not this key's business.
      assert.equal((await s.request('POST', '/v1/agents', { headers: auth, body: { name: 'x' } })).status, 403);
    } finally {
      await s.close();
    }
  });
});
