// API-key authentication and authorization through the real server: each
// scheme, each 401/403 reason, the verified cache, the failure limiter, the
// Argon2 gate, and the audit lines they produce.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  apiKeysToml,
  BUTTERCUP_HASH,
  BUTTERCUP_TOKEN,
  parseAuditLine,
  startTestServer,
  TINYTOWN_HASH,
  TINYTOWN_KEY,
  type TestServer,
} from '../helpers/server.js';
import { metric } from '../helpers/assertions.js';

const basic = (id: string, token: string): string => `Basic ${Buffer.from(`${id}:${token}`).toString('base64')}`;

describe('api_key authentication', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      toml: apiKeysToml([
        { id: 'reader', hash: TINYTOWN_HASH, scopes: ['town.read'] },
        { id: 'ops', hash: BUTTERCUP_HASH, scopes: [] },
      ]),
    });
  });
  after(() => s.close());

  test('Bearer, lower-case bearer, X-API-Key and Basic all authenticate', async () => {
    for (const headers of [
      { authorization: `Bearer ${TINYTOWN_KEY}` },
      { authorization: `bearer ${TINYTOWN_KEY}` },
      { 'x-api-key': TINYTOWN_KEY },
      { authorization: basic('reader', TINYTOWN_KEY) },
      { authorization: basic('ops', BUTTERCUP_TOKEN) },
    ]) {
      const r = await s.request('GET', '/v1/status', { headers });
      assert.equal(r.status, 200, JSON.stringify(headers));
      assert.equal(r.json.auth_mode, 'api_key');
      assert.equal(typeof r.json.version, 'string');
      assert.ok(Number.isInteger(r.json.uptime_secs));
      assert.equal(typeof r.json.name, 'string');
    }
  });

  test('a missing credential is a 401 problem with Bearer and Basic challenges', async () => {
    const r = await s.request('GET', '/v1/status');
    assert.equal(r.status, 401);
    assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
    const challenges = r.headers['www-authenticate'] as unknown as string;
    assert.match(challenges, /Bearer realm="townhall"/);
    assert.match(challenges, /Basic realm="townhall"/);
    assert.equal(r.json.status, 401);
    assert.equal(r.json.request_id, r.headers['x-request-id']);
    for (const field of ['type', 'title', 'detail']) assert.equal(typeof r.json[field], 'string');
  });

  test('a 401 keeps the connection when there is no body to drain', async () => {
    const r = await s.request('GET', '/v1/status');
    assert.equal(r.status, 401);
    assert.notEqual(r.headers['connection'], 'close');
  });

  test('every 401 looks alike to the client whatever the reason', async () => {
    const bodies = [];
    for (const headers of [{}, { authorization: 'Bearer wrong-token-value' }, { authorization: basic('nobody', TINYTOWN_KEY) }, { authorization: 'Bearer' }]) {
      const r = await s.request('GET', '/v1/status', { headers: { ...headers, 'x-request-id': 'same-id' } });
      assert.equal(r.status, 401);
      bodies.push(r.text);
    }
    assert.equal(new Set(bodies).size, 1);
  });

  test('a wrong Bearer key is a 401 even when X-API-Key is right', async () => {
    const r = await s.request('GET', '/v1/status', { headers: { authorization: 'Bearer not-the-key', 'x-api-key': TINYTOWN_KEY } });
    assert.equal(r.status, 401);
  });

  test('an unsupported Authorization scheme does not hide a valid X-API-Key', async () => {
    const r = await s.request('GET', '/v1/status', { headers: { authorization: 'Digest username="x"', 'x-api-key': TINYTOWN_KEY } });
    assert.equal(r.status, 200);
  });

  test('Basic selects the key by id: the right token under another id is refused', async () => {
    assert.equal((await s.request('GET', '/v1/status', { headers: { authorization: basic('ops', TINYTOWN_KEY) } })).status, 401);
    assert.equal((await s.request('GET', '/v1/status', { headers: { authorization: basic('unknown', TINYTOWN_KEY) } })).status, 401);
  });

  test('a key without the scope gets 403 naming it, and the denial is audited', async () => {
    const r = await s.request('POST', '/v1/backlog', {
      headers: { authorization: `Bearer ${TINYTOWN_KEY}`, 'x-request-id': 'deny-403' },
      body: { description: 'x' },
    });
    assert.equal(r.status, 403);
    assert.equal(r.json.required_scope, 'town.write');
    assert.match(String(r.headers['www-authenticate']), /error="insufficient_scope"/);
    assert.match(r.json.detail, /town\.write/);
    const line = s.audit.map(parseAuditLine).find((f) => f['client_request_id'] === 'deny-403');
    assert.ok(line, 'audit line for the 403');
    assert.equal(line['result'], 'denied');
    assert.equal(line['principal'], 'reader');
    assert.equal(line['scopes'], 'town.read');
    assert.equal(line['status'], '403');
  });

  test('an admin key (empty scope list) may write', async () => {
    const r = await s.request('POST', '/v1/backlog', { headers: { authorization: basic('ops', BUTTERCUP_TOKEN) }, body: { description: 'admin task' } });
    assert.equal(r.status, 201);
  });

  test('401 audit lines name the reason and never the secret', async () => {
    await s.request('GET', '/v1/status?token=query-secret', { headers: { authorization: 'Bearer wrong-secret-xyz', 'x-request-id': 'deny-401' } });
    const raw = s.audit.find((l) => l.includes('request_id="deny-401"'));
    assert.ok(raw);
    const line = parseAuditLine(raw);
    assert.equal(line['principal'], 'anonymous');
    assert.equal(line['reason'], 'wrong_secret');
    assert.equal(line['path'], '/v1/status');
    const everything = s.audit.join('\n') + s.logs.join('\n');
    for (const secret of ['wrong-secret-xyz', 'query-secret', TINYTOWN_KEY, BUTTERCUP_TOKEN, TINYTOWN_HASH]) {
      assert.ok(!everything.includes(secret), `log must not contain ${secret.slice(0, 8)}…`);
    }
  });

  test('Basic costs the same Argon2 work whether the key id exists or not (no key-id oracle)', async () => {
    // The two keys use different parameters (m=19456,t=2 and m=65536,t=3): every
    // Basic attempt runs one verification per parameter set, real or dummy.
    const count = async (): Promise<number> => metric((await s.request('GET', '/metrics')).text, 'townhall_argon2_verifications_total');
    for (const id of ['reader', 'ops', 'no-such-key']) {
      const before = await count();
      const r = await s.request('GET', '/v1/status', { headers: { authorization: basic(id, `wrong-for-${id}`) } });
      assert.equal(r.status, 401);
      assert.equal((await count()) - before, 2, `Argon2 runs for Basic id ${id}`);
    }
  });

  test('Argon2 runs once per key: later requests hit the verified cache', async () => {
    const before = (await s.request('GET', '/metrics')).text;
    for (let i = 0; i < 5; i++) {
      assert.equal((await s.request('GET', '/v1/status', { headers: { 'x-api-key': TINYTOWN_KEY } })).status, 200);
    }
    const afterText = (await s.request('GET', '/metrics')).text;
    assert.equal(metric(afterText, 'townhall_argon2_verifications_total'), metric(before, 'townhall_argon2_verifications_total'));
    assert.equal(metric(afterText, 'townhall_auth_cache_hits_total') - metric(before, 'townhall_auth_cache_hits_total'), 5);
    assert.match(afterText, /townhall_auth_failures_total\{reason="wrong_secret"\} \d+/);
  });
});

describe('expired and disabled keys', () => {
  let s: TestServer;
  let now = Date.parse('2026-11-26T12:00:00Z');
  before(async () => {
    s = await startTestServer({
      clock: { now: () => now },
      toml: `
[townhall.auth]
[[townhall.auth.keys]]
id = "soon"
hash = "${TINYTOWN_HASH}"
expires_at = 2099-01-01T00:00:00Z
[[townhall.auth.keys]]
id = "off"
hash = "${BUTTERCUP_HASH}"
disabled = true
`,
    });
  });
  after(() => s.close());

  test('a disabled key is refused with reason disabled', async () => {
    const r = await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${BUTTERCUP_TOKEN}`, 'x-request-id': 'off-1' } });
    assert.equal(r.status, 401);
    assert.equal(parseAuditLine(s.audit.find((l) => l.includes('off-1'))!)['reason'], 'disabled');
  });

  test('a key is refused once its expiry passes, even from the verified cache', async () => {
    assert.equal((await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${TINYTOWN_KEY}` } })).status, 200);
    now = Date.parse('2099-01-01T00:00:01Z');
    const r = await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${TINYTOWN_KEY}`, 'x-request-id': 'exp-1' } });
    assert.equal(r.status, 401);
    assert.equal(parseAuditLine(s.audit.find((l) => l.includes('exp-1'))!)['reason'], 'expired');
  });
});

describe('failed-attempt limiter', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      toml: `[townhall.auth]\nmax_failed_attempts_per_minute = 3\n[[townhall.auth.keys]]\nid = "k"\nhash = "${TINYTOWN_HASH}"\n`,
    });
  });
  after(() => s.close());

  test('requests without credentials do not count', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await s.request('GET', '/v1/status')).status, 401);
    assert.equal((await s.request('GET', '/v1/status', { headers: { 'x-api-key': TINYTOWN_KEY } })).status, 200);
  });

  test('past the limit the same credential is 429 with Retry-After', async () => {
    for (let i = 0; i < 3; i++) {
      assert.equal((await s.request('GET', '/v1/status', { headers: { 'x-api-key': 'wrong' } })).status, 401);
    }
    const blocked = await s.request('GET', '/v1/status', { headers: { 'x-api-key': 'wrong', 'x-request-id': 'rl-1' } });
    assert.equal(blocked.status, 429);
    const retry = Number(blocked.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    assert.equal(parseAuditLine(s.audit.find((l) => l.includes('rl-1'))!)['result'], 'denied');
  });

  test('past the per-address ceiling (5x) every unverified credential is 429, even a right one', async () => {
    // 3 failures so far; 12 more distinct guesses reach the ceiling of 15.
    for (let i = 0; i < 12; i++) {
      assert.equal((await s.request('GET', '/v1/status', { headers: { 'x-api-key': `wrong-${i}` } })).status, 401, `guess ${i}`);
    }
    // Right, but never verified in this form (Basic is cached apart from X-API-Key): no oracle for guesses.
    const unproven = await s.request('GET', '/v1/status', { headers: { authorization: basic('k', TINYTOWN_KEY) } });
    assert.equal(unproven.status, 429);
  });

  test('while the address is blocked, a key verified before the block keeps working (no neighbour lock-out)', async () => {
    const r = await s.request('GET', '/v1/status', { headers: { 'x-api-key': TINYTOWN_KEY, 'x-request-id': 'rl-cached' } });
    assert.equal(r.status, 200);
    assert.equal((await s.request('GET', '/v1/status', { headers: { 'x-api-key': 'still-wrong' } })).status, 429);
  });

  test('X-Forwarded-For is ignored without trust_proxy', async () => {
    const r = await s.request('GET', '/v1/status', { headers: { authorization: basic('k', TINYTOWN_KEY), 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(r.status, 429);
  });
});

describe('trust_proxy', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      toml: `[townhall]\ntrust_proxy = true\n[townhall.auth]\nmax_failed_attempts_per_minute = 1\n[[townhall.auth.keys]]\nid = "k"\nhash = "${TINYTOWN_HASH}"\n`,
    });
  });
  after(() => s.close());

  test('limits and audits by the forwarded address when trusted', async () => {
    const h = (addr: string, key: string): Record<string, string> => ({ 'x-api-key': key, 'x-forwarded-for': `198.51.100.1, ${addr}` });
    assert.equal((await s.request('POST', '/v1/recover', { headers: { ...h('203.0.113.7', 'bad'), 'x-request-id': 'xff-1' } })).status, 401);
    assert.equal((await s.request('GET', '/v1/status', { headers: h('203.0.113.7', 'bad') })).status, 429);
    assert.equal((await s.request('GET', '/v1/status', { headers: h('203.0.113.8', 'bad') })).status, 401);
    assert.equal((await s.request('GET', '/v1/status', { headers: h('203.0.113.8', TINYTOWN_KEY) })).status, 200);
    assert.equal(parseAuditLine(s.audit.find((l) => l.includes('xff-1'))!)['remote_addr'], '203.0.113.7');
  });
});

describe('Argon2 gate', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      toml: `[townhall.auth]\nargon2_max_concurrency = 1\nargon2_max_queue = 0\nmax_failed_attempts_per_minute = 1000\n[[townhall.auth.keys]]\nid = "k"\nhash = "${BUTTERCUP_HASH}"\n`,
    });
  });
  after(() => s.close());

  test('past the concurrency cap and queue, verifications are shed with 503 and Retry-After', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => s.request('GET', '/v1/status', { headers: { authorization: `Bearer distinct-wrong-${i}` } })),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.ok(statuses.includes(401), `some verified: ${statuses}`);
    const busy = results.find((r) => r.status === 503);
    assert.ok(busy, `some shed: ${statuses}`);
    assert.equal(busy.headers['retry-after'], '1');
    assert.equal(busy.json.status, 503);
  });
});
