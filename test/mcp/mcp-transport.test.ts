// The Streamable HTTP transport at the wire: authentication and its
// challenge, the RFC 9728 document, the Origin guard, sessions, protocol
// version headers, JSON-RPC errors, batches, notifications and limits.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestIdp, type SigningKey, type TestIdp } from '../helpers/idp.js';
import { parseAuditLine, startTestServer, type TestServer, type TestResponse } from '../helpers/server.js';
import { ADMIN_KEY, connectHttp, READER_KEY, startKeyedServer } from './mcp-fixture.js';

const ACCEPT = 'application/json, text/event-stream';

describe('MCP Streamable HTTP transport', () => {
  let s: TestServer;
  before(async () => {
    s = await startKeyedServer();
  });
  after(() => s.close());

  const post = (body: unknown, headers: Record<string, string> = {}, key: string | null = ADMIN_KEY): Promise<TestResponse> =>
    s.request('POST', '/mcp', { body, headers: { accept: ACCEPT, ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...headers } });

  async function initialize(version = '2025-06-18', key = ADMIN_KEY): Promise<string> {
    const r = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 't', version: '1' } } }, {}, key);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.result.protocolVersion, version);
    const id = r.headers['mcp-session-id'];
    assert.equal(typeof id, 'string');
    return id as string;
  }

  test('a missing or wrong key is a 401 pointing at the protected-resource metadata, audited as denied', async () => {
    const base = `http://127.0.0.1:${s.port}`;
    for (const key of [null, 'wrong-key-value']) {
      const r = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, {}, key);
      assert.equal(r.status, 401);
      // Node joins the two challenges with ", ".
      const challenges = String(r.headers['www-authenticate']);
      assert.ok(challenges.startsWith(`Bearer realm="townhall", resource_metadata="${base}/.well-known/oauth-protected-resource"`), challenges);
      assert.ok(challenges.endsWith(', Basic realm="townhall"'), challenges);
      assert.equal(r.json.jsonrpc, '2.0');
      assert.equal(r.json.id, null);
      assert.equal(r.json.error.message, 'A valid API key is required.');
    }
    const lines = s.audit.map(parseAuditLine).filter((f) => f['path'] === '/mcp' && f['status'] === '401');
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!['reason'], 'missing');
    for (const f of lines) {
      assert.equal(f['result'], 'denied');
      assert.equal(f['transport'], 'mcp');
    }
  });

  test('the RFC 9728 document is public and names the /mcp resource', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const r = await s.request('GET', path);
      assert.equal(r.status, 200);
      assert.equal(r.json.resource, `http://127.0.0.1:${s.port}/mcp`);
      assert.deepEqual(r.json.bearer_methods_supported, ['header']);
      assert.ok(r.json.scopes_supported.includes('town.read'));
      assert.equal(r.json.authorization_servers, undefined, 'no OIDC issuer configured');
    }
  });

  test('a foreign Origin is refused with 403 and audited; loopback origins and no Origin pass', async () => {
    const r = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, -32000);
    const line = s.audit.map(parseAuditLine).find((f) => f['reason'] === 'origin_not_allowed');
    assert.ok(line);
    assert.equal(line['result'], 'denied');
    assert.equal((await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { origin: 'null' })).status, 403);
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:9', 'http://[::1]:8080']) assert.equal((await post(init, { origin })).status, 200, origin);
  });

  test('requests need a live session of the same key; DELETE ends it', async () => {
    const ping = { jsonrpc: '2.0', id: 2, method: 'ping' };
    assert.equal((await post(ping)).status, 400, 'no session header');
    assert.equal((await post(ping, { 'mcp-session-id': 'no-such-session' })).status, 404);
    const id = await initialize();
    const ok = await post(ping, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { jsonrpc: '2.0', id: 2, result: {} });
    assert.equal((await post(ping, { 'mcp-session-id': id }, READER_KEY)).status, 404, 'another key cannot use the session');
    const del = await s.request('DELETE', '/mcp', { headers: { authorization: `Bearer ${ADMIN_KEY}`, 'mcp-session-id': id } });
    assert.equal(del.status, 204);
    const after = await post(ping, { 'mcp-session-id': id });
    assert.equal(after.status, 404);
    assert.equal(after.json.error.code, -32001);
  });

  test("a tool call's audit line keeps the server's request id and the client's as client_request_id", async () => {
    const id = await initialize();
    const r = await post({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'backlog.add', arguments: { description: 'audited' } } }, { 'mcp-session-id': id, 'x-request-id': 'client-7' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-request-id'], 'client-7');
    const line = s.audit.map(parseAuditLine).find((f) => f['operation'] === 'backlog.add' && f['client_request_id'] === 'client-7');
    assert.ok(line, s.audit.join('\n'));
    assert.notEqual(line['request_id'], 'client-7');
    assert.equal(line['transport'], 'mcp');
  });

  test('Expect: 100-continue is answered once the key is accepted', async () => {
    const id = await initialize();
    const r = await post({ jsonrpc: '2.0', id: 8, method: 'ping' }, { 'mcp-session-id': id, expect: '100-continue' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.result, {});
  });

  test('initialize answers our latest version to an unknown one; the version header must match the session', async () => {
    const r = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '1999-01-01', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    assert.equal(r.json.result.protocolVersion, '2025-06-18');
    const id = r.headers['mcp-session-id'] as string;
    const ping = { jsonrpc: '2.0', id: 2, method: 'ping' };
    assert.equal((await post(ping, { 'mcp-session-id': id, 'mcp-protocol-version': '1999-01-01' })).status, 400);
    assert.equal((await post(ping, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-03-26' })).status, 400);
    assert.equal((await post(ping, { 'mcp-session-id': id })).status, 200, 'no header: the session version');
  });

  test('JSON-RPC errors: parse error, invalid request, unknown method, bad params', async () => {
    const id = await initialize();
    const h = { 'mcp-session-id': id };
    const parse = await post('{not json', { ...h, 'content-type': 'application/json' });
    assert.equal(parse.status, 400);
    assert.equal(parse.json.error.code, -32700);
    const invalid = await post({ id: 3, method: 'ping' }, h);
    assert.equal(invalid.status, 400);
    assert.deepEqual(invalid.json.error.code, -32600);
    assert.equal(invalid.json.id, 3);
    const unknown = await post({ jsonrpc: '2.0', id: 4, method: 'sampling/teleport' }, h);
    assert.equal(unknown.status, 200);
    assert.equal(unknown.json.error.code, -32601);
    const params = await post({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: [1] }, h);
    assert.equal(params.json.error.code, -32602);
    const cursor = await post({ jsonrpc: '2.0', id: 6, method: 'tools/list', params: { cursor: 'x' } }, h);
    assert.equal(cursor.json.error.code, -32602);
  });

  test('notifications and client responses are accepted with 202 and no body', async () => {
    const id = await initialize();
    const r = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': id });
    assert.equal(r.status, 202);
    assert.equal(r.text, '');
    assert.equal((await post({ jsonrpc: '2.0', id: 'x', result: {} }, { 'mcp-session-id': id })).status, 202);
  });

  test('batches: refused on 2025-06-18, answered on 2025-03-26, bounded', async () => {
    const ping = (n: number) => ({ jsonrpc: '2.0', id: n, method: 'ping' });
    const modern = await initialize('2025-06-18');
    assert.equal((await post([ping(1), ping(2)], { 'mcp-session-id': modern })).status, 400);
    const old = await initialize('2025-03-26');
    const r = await post([ping(1), { jsonrpc: '2.0', method: 'notifications/initialized' }, ping(2)], { 'mcp-session-id': old });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.map((m: any) => m.id), [1, 2]);
    const tooMany = await post(Array.from({ length: 33 }, (_, i) => ping(i)), { 'mcp-session-id': old });
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.json.error.code, -32600);
    assert.equal((await post([], { 'mcp-session-id': old })).status, 400);
    assert.ok(s.audit.map(parseAuditLine).some((f) => f['reason'] === 'bad_batch' && f['status'] === '400' && f['result'] === 'error'), 'a refused batch is audited like a refused REST body');
    const withInit = await post([{ jsonrpc: '2.0', id: 9, method: 'initialize', params: { protocolVersion: '2025-03-26' } }], { 'mcp-session-id': old });
    assert.equal(withInit.json[0].error.code, -32600);
  });

  test('GET /mcp is 405 (no server stream); other methods are 405 from the router', async () => {
    const r = await s.request('GET', '/mcp', { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(r.status, 405);
    assert.equal(r.headers['allow'], 'POST, DELETE');
    assert.equal((await s.request('PUT', '/mcp')).status, 405);
  });

  test('body limits and media types', async () => {
    const id = await initialize();
    const big = await post({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(1024 * 1024) } }, { 'mcp-session-id': id });
    assert.equal(big.status, 413);
    const text = await post('hello', { 'mcp-session-id': id, 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
    const accept = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': id, accept: 'text/html' });
    assert.equal(accept.status, 406);
  });
});

describe('MCP in auth mode oidc', () => {
  let idp: TestIdp;
  let s: TestServer;
  let key: SigningKey;
  before(async () => {
    idp = await startTestIdp('townhall');
    key = await idp.newKey('k1', 'ES256');
    idp.published.push(key);
    s = await startTestServer({ toml: `[townhall.auth]\nmode = "oidc"\nissuer = "${idp.issuer}"\naudience = "townhall"\n` });
  });
  after(async () => {
    await s.close();
    await idp.close();
  });

  test('the RFC 9728 document names the issuer in authorization_servers', async () => {
    const r = await s.request('GET', '/.well-known/oauth-protected-resource');
    assert.deepEqual(r.json.authorization_servers, [idp.issuer]);
  });

  test('a token authenticates the SDK client; its scopes filter the tools; a bad token is 401 invalid_token', async () => {
    const token = await idp.token(key, { scope: 'town.read' });
    const client = await connectHttp(s.port, token);
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.length > 0 && tools.every((t) => t.annotations?.readOnlyHint === true));
    } finally {
      await client.close();
    }
    const r = await s.request('POST', '/mcp', { headers: { authorization: 'Bearer not.a.jwt', accept: ACCEPT }, body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], `Bearer realm="townhall", resource_metadata="http://127.0.0.1:${s.port}/.well-known/oauth-protected-resource", error="invalid_token"`);
    const line = s.audit.map(parseAuditLine).find((f) => f['path'] === '/mcp' && f['status'] === '401');
    assert.equal(line?.['auth'], 'oidc');
  });
});
