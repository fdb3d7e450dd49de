// Townhall on a Redis reached over TLS (rediss://) as a least-privilege ACL
// user, with certificates made in the test run: reads and writes work through
// the server, the ACL line the README documents is enough (Redis's ACL LOG
// stays empty), the CA comes from [townhall.store] redis_ca_path, and neither
// the user's nor the default user's password appears in a log line, an audit
// line, a response (/v1/town, /v1/status, a 503 while Redis is down) or a
// start-up failure message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { issue, makeCa, type Ca } from '../helpers/pki.js';
import { redisTlsSkipReason, startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import { openRedisStore } from '../../src/store/redis-store.js';
import { startTestServer, TINYTOWN_HASH, TINYTOWN_KEY } from '../helpers/server.js';

const USER_PW = 'user-pw-4c1d9e7a';
const ADMIN_PW = 'admin-pw-8b2f0a6c';
const WRONG_PW = 'wrong-pw-93e5b7d1';
const SECRETS = new RegExp(`${USER_PW}|${ADMIN_PW}|${WRONG_PW}`);
const TOWN = 'tls-town';

/** The ACL line of the README, for key prefix "test" and town "tls-town". */
function aclArgs(prefix: string, town: string): string[] {
  return ['townhall', 'on', `>${USER_PW}`, 'resetkeys', `~${prefix}:{${town}}:*`, 'resetchannels', `&${prefix}:{${town}}:*`,
    '-@all', '+ping', '+info', '+get', '+set', '+incr', '+decr', '+pexpire', '+pttl', '+xadd', '+xrange', '+xtrim',
    '+append', '+del', '+rename', '+persist', '+multi', '+exec', '+eval', '+evalsha', '+publish', '+subscribe', '+unsubscribe'];
}

const dir = mkdtempSync(join(tmpdir(), 'townhall-redis-tls-'));
const ca: Ca = makeCa(dir, 'redis-ca');
const other: Ca = makeCa(dir, 'other-ca');
const cert = issue(ca, 'redis', { server: true });
const tlsFiles = { certPath: cert.certPath, keyPath: cert.keyPath, caPath: ca.certPath };
const skip = redisTlsSkipReason(tlsFiles);
after(() => rmSync(dir, { recursive: true, force: true }));

const AUTH = `[townhall.auth]\nmode = "api_key"\napi_key_hash = "${TINYTOWN_HASH}"\n`;
const bearer = { authorization: `Bearer ${TINYTOWN_KEY}` };

function toml(url: string, extra = ''): string {
  return `name = "${TOWN}"\n${AUTH}[townhall.store]\nbackend = "redis"\nredis_url = "${url}"\nkey_prefix = "test"\n${extra}`;
}

/** Runs bin/townhall.js until it exits (start-up failures); its stderr lines. */
function runTownhall(tomlText: string, env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string[] }> {
  const townDir = mkdtempSync(join(dir, 'town-'));
  writeFileSync(join(townDir, 'tinytown.toml'), tomlText);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/townhall.js', '--town', townDir, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGTERM'), 15_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr: stderr.split('\n').filter((l) => l !== '') });
    });
  });
}

describe('Redis over TLS with an ACL user', { skip }, () => {
  let redis: TestRedis;
  let userUrl = '';
  before(async () => {
    redis = await startTestRedis({ tls: tlsFiles, args: ['--requirepass', ADMIN_PW, '--user', ...aclArgs('test', TOWN)] });
    userUrl = `rediss://townhall:${USER_PW}@127.0.0.1:${redis.port}`;
  });
  after(() => redis.cleanup());

  /** A default-user connection for checking what the ACL user did. */
  async function admin(): Promise<Redis> {
    const client = new Redis(redis.url, { password: ADMIN_PW, tls: { ca: ca.cert }, lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    return client;
  }

  test('writes and reads work through the server; the password is nowhere; Redis down is a clean 503', async () => {
    const s = await startTestServer({ toml: toml(userUrl, `redis_ca_path = "${ca.certPath}"\n`) });
    try {
      const created = await s.request('POST', '/v1/backlog', { headers: bearer, body: { description: 'over tls' } });
      assert.equal(created.status, 201, created.text);
      const listed = await s.request('GET', '/v1/backlog', { headers: bearer });
      assert.deepEqual(listed.json.backlog.map((t: { description: string }) => t.description), ['over tls']);
      const town = await s.request('GET', '/v1/town', { headers: bearer });
      const status = await s.request('GET', '/v1/status', { headers: bearer });
      assert.equal(town.status, 200);
      assert.equal(status.status, 200);

      // A wrong key: the shared failure limiter's script runs as the ACL user too.
      const refused = await s.request('GET', '/v1/town', { headers: { authorization: 'Bearer not-the-key' } });
      assert.equal(refused.status, 401);
      // The writes really went through the ACL user, over TLS, to this town's keys.
      const check = await admin();
      try {
        assert.ok(Number(await check.get(`test:{${TOWN}}:version`)) >= 1, 'the town version is in Redis');
        assert.match(String(await check.call('CLIENT', 'LIST')), /user=townhall/, 'Townhall is connected as the ACL user');
        assert.ok((await check.keys(`test:{${TOWN}}:authfail:*`)).length > 0, 'the failed attempt was counted in Redis');
      } finally {
        check.disconnect();
      }
      // Without CONFIG the store cannot check the eviction policy: it says so (README: the ACL section).
      assert.match(s.logs.join('\n'), /cannot read the configuration of Redis at rediss:\/\/townhall:\*\*\*\*@127\.0\.0\.1:\d+ \(NOPERM\)/);
      assert.match(s.logs.join('\n'), new RegExp(`store redis rediss://townhall:\\*\\*\\*\\*@127\\.0\\.0\\.1:${redis.port} \\(key prefix test, CA ${ca.certPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));

      await redis.stop();
      const down = await s.request('POST', '/v1/backlog', { headers: bearer, body: { description: 'during' } });
      assert.equal(down.status, 503, down.text);
      assert.ok(Number(down.headers['retry-after']) > 0);
      const downRead = await s.request('GET', '/v1/backlog', { headers: bearer });
      assert.equal(downRead.status, 503);
      const notReady = await s.request('GET', '/ready');
      assert.equal(notReady.status, 503);
      await redis.start();
      const deadline = Date.now() + 10_000;
      while ((await s.request('GET', '/ready')).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await s.request('POST', '/v1/backlog', { headers: bearer, body: { description: 'after' } })).status, 201);

      const everything = [...s.logs, ...s.audit, town.text, status.text, refused.text, down.text, downRead.text, notReady.text].join('\n');
      assert.ok(s.logs.length > 0 && s.audit.length > 0);
      assert.doesNotMatch(everything, SECRETS);
    } finally {
      await s.close();
    }
  });

  test('a wrong password stops start-up with one line that names the redacted URL, never the password', async () => {
    const run = await runTownhall(toml(`rediss://townhall:${WRONG_PW}@127.0.0.1:${redis.port}`, `redis_ca_path = "${ca.certPath}"\n`));
    assert.equal(run.code, 1);
    assert.equal(run.stderr.length, 1, run.stderr.join('\n'));
    assert.match(run.stderr[0]!, /^townhall: cannot reach Redis at rediss:\/\/townhall:\*\*\*\*@127\.0\.0\.1:\d+ \(WRONGPASS\); check the user and password/);
    assert.doesNotMatch(run.stderr[0]!, SECRETS);
  });

  test('a certificate not signed by redis_ca_path, or no redis_ca_path (system CAs), fails start-up naming redis_ca_path', async () => {
    const wrongCa = await runTownhall(toml(userUrl, `redis_ca_path = "${other.certPath}"\n`));
    const systemCas = await runTownhall(toml(userUrl));
    for (const run of [wrongCa, systemCas]) {
      assert.equal(run.code, 1);
      assert.equal(run.stderr.length, 1, run.stderr.join('\n'));
      assert.match(run.stderr[0]!, /^townhall: cannot reach Redis at rediss:\/\/townhall:\*\*\*\*@127\.0\.0\.1:\d+ \(\w+\); check \[townhall\.store\] redis_ca_path/);
      assert.doesNotMatch(run.stderr[0]!, SECRETS);
    }
  });

  test('without redis_ca_path the system trust store is used (NODE_EXTRA_CA_CERTS adds the CA)', async () => {
    // Starts for real: stop it once it is listening.
    const townDir = mkdtempSync(join(dir, 'town-'));
    writeFileSync(join(townDir, 'tinytown.toml'), toml(userUrl));
    const child = spawn(process.execPath, ['bin/townhall.js', '--town', townDir, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.certPath } });
    let stderr = '';
    const listening = new Promise<boolean>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
        if (/listening on/.test(stderr)) resolve(true);
      });
      child.once('close', () => resolve(false));
    });
    const ok = await listening;
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode === null ? child.once('close', r) : r(null)));
    assert.ok(ok, stderr);
    assert.doesNotMatch(stderr, SECRETS);
  });

  test('snapshots and log trimming run as the ACL user too', async () => {
    const store = await openRedisStore({ url: userUrl, ca: ca.cert, keyPrefix: 'test', town: TOWN, logger: { warn: () => {} }, snapshotEvery: 5 });
    try {
      for (let i = 0; i < 12; i++) await store.transact((tx) => tx.put('meta', `n${i}`, i));
    } finally {
      await store.close(); // waits for the snapshots queued meanwhile
    }
    assert.ok(store.stats().snapshots >= 1, 'a snapshot was written');
  });

  test('an upper-case REDISS:// scheme still uses TLS (ioredis alone checks the prefix case-sensitively)', async () => {
    const s = await startTestServer({ toml: toml(`REDISS://townhall:${USER_PW}@127.0.0.1:${redis.port}`, `redis_ca_path = "${ca.certPath}"\n`) });
    try {
      assert.equal((await s.request('POST', '/v1/backlog', { headers: bearer, body: { description: 'upper' } })).status, 201);
    } finally {
      await s.close();
    }
  });

  test('the ACL line the README documents allowed every command Townhall sent, except the optional CONFIG GET', async () => {
    const check = await admin();
    try {
      // ACL LOG entries are flat [name, value, ...] lists; reason is command, key, channel or auth.
      const entries = ((await check.call('ACL', 'LOG')) as string[][]).map((e) => ({ reason: e[e.indexOf('reason') + 1], object: e[e.indexOf('object') + 1] }));
      const refused = entries.filter((e) => e.reason !== 'auth').map((e) => `${e.reason} ${e.object}`);
      assert.deepEqual([...new Set(refused)], ['command config|get']);
      assert.ok(entries.some((e) => e.reason === 'auth'), 'the wrong-password start-up was refused by Redis');
    } finally {
      check.disconnect();
    }
  });
});
