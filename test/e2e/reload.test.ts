// Reload and key rotation against a running server: the README's rotation
// recipe step by step, a removed or disabled key refused on its next request
// (the verified cache is cleared), a broken file or a restart-only change
// leaving the old configuration running, the admin routes' scope, the key
// list (never hashes), and the 7-day expiry warning.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashToken } from '../../src/auth/argon2-hash.js';
import { parseAuditLine, startTestServer, TINYTOWN_HASH, TINYTOWN_KEY, type TestServer } from '../helpers/server.js';

const OLD_TOKEN = 'OldToken0000000000000000000000000000000000000000000000000000000a';
const NEW_TOKEN = 'NewToken0000000000000000000000000000000000000000000000000000000b';
const READER_TOKEN = 'ReaderToken00000000000000000000000000000000000000000000000000000';
let oldHash = '';
let newHash = '';
let readerHash = '';
before(async () => {
  [oldHash, newHash, readerHash] = await Promise.all([hashToken(OLD_TOKEN), hashToken(NEW_TOKEN), hashToken(READER_TOKEN)]);
});

const admin = { authorization: `Bearer ${TINYTOWN_KEY}` };
const key = (id: string, hash: string, extra = ''): string => `[[townhall.auth.keys]]\nid = "${id}"\nhash = "${hash}"\n${extra}`;
const BASE = '[townhall.store]\ndurability = "none"\n[townhall.auth]\nmode = "api_key"\n';

async function rewrite(s: TestServer, toml: string): Promise<void> {
  await writeFile(join(s.dir, 'tinytown.toml'), toml);
}

async function reload(s: TestServer): Promise<Awaited<ReturnType<TestServer['request']>>> {
  return s.request('POST', '/v1/admin/reload', { headers: admin });
}

const status = (s: TestServer, token: string, id = 'x'): Promise<number> =>
  s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${token}`, 'x-request-id': id } }).then((r) => r.status);

test('the README rotation recipe, step by step: add, move, remove, reload', async () => {
  const s = await startTestServer({ toml: BASE + key('ops', TINYTOWN_HASH) + key('ci-2026-05', oldHash, 'scopes = ["town.read"]\n') });
  try {
    assert.equal(await status(s, OLD_TOKEN), 200, 'the client works with the old key');
    // 1. Add the new key next to the old one, and reload.
    await rewrite(s, BASE + key('ops', TINYTOWN_HASH) + key('ci-2026-05', oldHash, 'scopes = ["town.read"]\n') + key('ci-2026-11', newHash, 'scopes = ["town.read"]\n'));
    const added = await reload(s);
    assert.equal(added.status, 200, added.text);
    assert.deepEqual(added.json, { status: 'reloaded', keys: 3, warnings: [] });
    // 2. Move the clients: both keys work meanwhile.
    assert.equal(await status(s, NEW_TOKEN), 200);
    assert.equal(await status(s, OLD_TOKEN), 200);
    // Check nobody still uses the old key: last use per key.
    const listed = await s.request('GET', '/v1/admin/keys', { headers: admin });
    assert.equal(listed.status, 200);
    assert.ok(!listed.text.includes('$argon2id'), 'never hashes');
    type Listed = { id: string; scopes: string[]; last_used_at: string | null };
    const byId: Record<string, Listed> = Object.fromEntries((listed.json.keys as Listed[]).map((k) => [k.id, k]));
    assert.deepEqual(Object.keys(byId), ['ops', 'ci-2026-05', 'ci-2026-11']);
    assert.deepEqual(Object.keys(byId['ci-2026-11']!), ['id', 'scopes', 'expires_at', 'disabled', 'last_used_at']);
    assert.match(String(byId['ci-2026-11']!.last_used_at), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(byId['ops']!.scopes, ['admin']);
    // 3. Remove the old key and reload: its next request is refused although it was verified a moment ago.
    await rewrite(s, BASE + key('ops', TINYTOWN_HASH) + key('ci-2026-11', newHash, 'scopes = ["town.read"]\n'));
    assert.equal((await reload(s)).status, 200);
    assert.equal(await status(s, OLD_TOKEN, 'old-after'), 401);
    assert.equal(parseAuditLine(s.audit.find((l) => l.includes('old-after'))!)['reason'], 'wrong_secret');
    assert.equal(await status(s, NEW_TOKEN), 200);
    assert.ok(s.logs.some((l) => / INFO townhall: reloaded the configuration \(admin\.reload by ops over http\): auth mode api_key, 2 key\(s\)/.test(l)), s.logs.join('\n'));
  } finally {
    await s.close();
  }
});

describe('refused reloads change nothing', () => {
  let s: TestServer;
  let good = '';
  before(async () => {
    good = BASE + key('ops', TINYTOWN_HASH) + key('reader', readerHash, 'scopes = ["town.read"]\n');
    s = await startTestServer({ toml: good });
    assert.equal(await status(s, READER_TOKEN), 200);
  });
  after(() => s.close());

  test('a broken file: 409 saying why, logged, the old keys keep working', async () => {
    await rewrite(s, good + key('reader', readerHash).replace('hash', 'hash = ') + '\n');
    const r = await reload(s);
    assert.equal(r.status, 409);
    assert.equal(r.json.type, 'https://townhall.dev/problems/admin-reload-failed');
    assert.match(r.json.detail, /^The configuration was not reloaded: invalid TOML in .*tinytown\.toml at line \d+, column \d+/);
    assert.ok(s.logs.some((l) => / ERROR townhall: reload \(admin\.reload by ops over http\) refused, the running configuration is unchanged: invalid TOML/.test(l)), s.logs.join('\n'));
    assert.equal(await status(s, READER_TOKEN), 200);
    assert.equal(await status(s, TINYTOWN_KEY), 200);
  });

  test('a file that fails validation (unknown scope, missing certificate) is refused the same way', async () => {
    await rewrite(s, BASE + key('ops', TINYTOWN_HASH) + key('reader', readerHash, 'scopes = ["root"]\n'));
    assert.match((await reload(s)).json.detail, /unknown scope "root"/);
    await rewrite(s, good + '[townhall.tls]\nenabled = true\ncert_path = "/nope/server.crt"\nkey_path = "/nope/server.key"\n');
    assert.match((await reload(s)).json.detail, /\[townhall\.tls\] cert_path: no such file: \/nope\/server\.crt/);
    assert.equal(await status(s, READER_TOKEN), 200);
  });

  test('a setting only a restart can apply is refused, naming it', async () => {
    await rewrite(s, good.replace('[townhall.store]', '[townhall]\nbind = "127.0.0.2"\n[townhall.store]'));
    const r = await reload(s);
    assert.equal(r.status, 409);
    assert.equal(r.json.detail, 'The configuration was not reloaded: [townhall] bind changed; restart Townhall to apply that');
  });

  test('the admin routes need the admin scope', async () => {
    await rewrite(s, good);
    const r = await s.request('POST', '/v1/admin/reload', { headers: { authorization: `Bearer ${READER_TOKEN}` } });
    assert.equal(r.status, 403);
    assert.equal(r.json.required_scope, 'admin');
    assert.equal((await s.request('GET', '/v1/admin/keys', { headers: { authorization: `Bearer ${READER_TOKEN}` } })).status, 403);
    assert.equal((await s.request('GET', '/v1/admin/keys')).status, 401);
  });
});

test('a key disabled by a reload is refused on its next request (reason disabled)', async () => {
  const s = await startTestServer({ toml: BASE + key('ops', TINYTOWN_HASH) + key('reader', readerHash, 'scopes = ["town.read"]\n') });
  try {
    assert.equal(await status(s, READER_TOKEN), 200);
    await rewrite(s, BASE + key('ops', TINYTOWN_HASH) + key('reader', readerHash, 'scopes = ["town.read"]\ndisabled = true\n'));
    assert.equal((await reload(s)).status, 200);
    assert.equal(await status(s, READER_TOKEN, 'disabled-1'), 401);
    assert.equal(parseAuditLine(s.audit.find((l) => l.includes('disabled-1'))!)['reason'], 'disabled');
    const keys = (await s.request('GET', '/v1/admin/keys', { headers: admin })).json.keys as Array<{ id: string; disabled: boolean }>;
    assert.equal(keys.find((k) => k.id === 'reader')?.disabled, true);
  } finally {
    await s.close();
  }
});

test('a key expiring within 7 days warns at start and at reload', async () => {
  const soon = new Date(Date.now() + 3 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const s = await startTestServer({ toml: BASE + key('ops', TINYTOWN_HASH) + key('reader', readerHash, `expires_at = "${soon}"\n`) });
  try {
    const warning = (l: string): boolean => l.includes(`WARN townhall: API key "reader" expires at ${soon.replace('Z', '.000Z')}`);
    assert.equal(s.logs.filter(warning).length, 1, s.logs.join('\n'));
    const r = await reload(s);
    assert.equal(r.json.warnings.length, 1);
    assert.equal(s.logs.filter(warning).length, 2);
    const keys = (await s.request('GET', '/v1/admin/keys', { headers: admin })).json.keys as Array<{ id: string; expires_at: string | null }>;
    assert.equal(keys.find((k) => k.id === 'reader')?.expires_at, soon.replace('Z', '.000Z'));
  } finally {
    await s.close();
  }
});

test('a tinytown.toml as Tinytown writes it (TLS off, api_key mode) starts Townhall', async () => {
  // Tinytown saves its whole config: every [townhall] table, used or not, with its own key names.
  const toml = [
    'name = "tiny"', 'default_cli = "claude"', 'max_agents = 10', 'use_streams = false',
    '[redis]', 'use_socket = true', 'host = "127.0.0.1"', 'port = 6379', 'bind = "127.0.0.1"',
    '[agent]', 'idle_timeout_secs = 300',
    '[townhall]', 'bind = "127.0.0.1"', 'rest_port = 8080', 'request_timeout_ms = 30000',
    '[townhall.auth]', 'mode = "api_key"', `api_key_hash = "${TINYTOWN_HASH}"`, 'api_key_scopes = []',
    'issuer = ""', 'audience = ""', 'jwks_url = ""', 'required_scopes = []', 'clock_skew_seconds = 60',
    '[townhall.tls]', 'enabled = false', 'cert_file = ""', 'key_file = ""',
    '[townhall.mtls]', 'enabled = false', 'required = false', 'ca_file = ""',
    '[townhall.store]', 'durability = "none"', '',
  ].join('\n');
  const s = await startTestServer({ toml });
  try {
    assert.equal(await status(s, TINYTOWN_KEY), 200);
    assert.equal((await s.request('GET', '/v1/town', { headers: admin })).json.name, 'tiny');
  } finally {
    await s.close();
  }
});
