// loadConfig: tinytown.toml files written to temp dirs, plus explicit env and
// flags, checked against the spec's defaults, precedence and start-up refusals.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { formatPhc, hashToken, meetsOwaspMinimum, parseArgon2idPhc, verifyToken, type ParsedPhc } from '../../src/auth/argon2-hash.js';
import { ConfigError } from '../../src/config/config.js';
import { loadConfig, type ConfigFlags, type LoadedConfig } from '../../src/config/load-config.js';

const TINYTOWN_KEY = '3f9a1c2e7b8d4f6a0c5e9b1d3a7f2c4e8b6d0a9f1e3c5b7d9f2a4c6e8b0d1f3a';
const TINYTOWN_HASH = '$argon2id$v=19$m=19456,t=2,p=1$xiJp23vp95Pk0dHymo8PTg$lKsmTa1NyjSlgxY275HVu1Auh/7LdwjbkYo6ii/Lr8E';
const BUTTERCUP_HASH = '$argon2id$v=19$m=65536,t=3,p=4$Si1olb9wP0mnaab47y+2lQ$Lhb3XPqy3ZXx1R1SYwYAt77wX19K7dr9WTNo8w/I0UE';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'townhall-cfg-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Writes `toml` as DIR/tinytown.toml in a fresh temp dir and returns DIR. */
function town(toml: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'tinytown.toml'), toml);
  return dir;
}

interface LoadOptions {
  flags?: ConfigFlags;
  env?: Record<string, string>;
}

/** loadConfig on `toml` (read via `--town DIR`), with explicit env (never the parent's). */
function load(toml: string, opts: LoadOptions = {}): LoadedConfig {
  const dir = town(toml);
  return loadConfig({ flags: { town: dir, ...opts.flags }, env: opts.env ?? {}, cwd: dir });
}

/** Asserts that loading throws a ConfigError and returns its message. */
function refusal(toml: string, opts: LoadOptions = {}): string {
  let caught: unknown;
  try {
    load(toml, opts);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.ok(!caught.message.includes('\n'), 'a refusal is one line');
  return caught.message;
}

function phc(params: string, base: string = TINYTOWN_HASH): string {
  return base.replace(/\$m=[^$]+\$/, `$${params}$`);
}

function withParams(m: number, t: number, p = 1): string {
  const parsed = parseArgon2idPhc(TINYTOWN_HASH) as ParsedPhc;
  return formatPhc({ ...parsed, memoryCost: m, timeCost: t, parallelism: p });
}

describe('defaults', () => {
  test('an empty tinytown.toml gives the documented defaults', () => {
    const dir = town('');
    const { config, warnings } = loadConfig({ flags: { town: dir }, env: {}, cwd: dir });
    assert.deepEqual(warnings, []);
    assert.equal(config.configPath, join(dir, 'tinytown.toml'));
    assert.equal(config.bind, '127.0.0.1');
    assert.equal(config.port, 8787);
    assert.equal(config.requestTimeoutMs, 30000);
    assert.equal(config.maxBodyBytes, 1048576);
    assert.deepEqual(config.trustProxy, []);
    assert.equal(config.verbose, false);
    assert.equal(config.auth.mode, 'none');
    assert.deepEqual(config.auth.keys, []);
    assert.equal(config.auth.allowWeakHashes, false);
    assert.equal(config.auth.verifyCacheTtlSecs, 300);
    assert.equal(config.auth.maxFailedAttemptsPerMinute, 20);
    assert.equal(config.auth.argon2MaxQueue, 64);
    assert.equal(config.auth.argon2MaxConcurrency, Math.max(1, cpus().length));
    assert.equal(config.log.format, 'text');
    assert.equal(config.store.path, join(dir, '.townhall'));
    assert.equal(config.store.durability, 'always');
    assert.equal(config.town.name, basename(dir));
    assert.equal(config.town.defaultCli, 'claude');
    assert.equal(config.town.maxAgents, 10);
    assert.equal(config.town.heartbeatTimeoutSecs, 120);
  });

  test('no flags and no ./tinytown.toml: built-in defaults, configPath null, store under cwd', () => {
    const cwd = tempDir();
    const { config } = loadConfig({ flags: {}, env: {}, cwd });
    assert.equal(config.configPath, null);
    assert.equal(config.port, 8787);
    assert.equal(config.auth.mode, 'none');
    assert.equal(config.store.path, join(cwd, '.townhall'));
    assert.equal(config.town.name, basename(cwd));
  });

  test('no flags: ./tinytown.toml in cwd is read', () => {
    const cwd = town('[townhall]\nport = 9191\n');
    const { config } = loadConfig({ flags: {}, env: {}, cwd });
    assert.equal(config.configPath, join(cwd, 'tinytown.toml'));
    assert.equal(config.port, 9191);
  });

  test('--town DIR reads DIR/tinytown.toml, not the one in cwd', () => {
    const cwd = town('[townhall]\nport = 1111\n');
    const other = town('[townhall]\nport = 2222\n');
    const { config } = loadConfig({ flags: { town: other }, env: {}, cwd });
    assert.equal(config.port, 2222);
    assert.equal(config.configPath, join(other, 'tinytown.toml'));
  });

  test('--config PATH reads that file; the store path and town name follow its folder, not cwd', () => {
    const cwd = tempDir();
    const sub = join(tempDir(), 'springfield');
    mkdirSync(sub);
    writeFileSync(join(sub, 'custom.toml'), '[townhall]\nport = 3333\n');
    const { config } = loadConfig({ flags: { config: join(sub, 'custom.toml') }, env: {}, cwd });
    assert.equal(config.port, 3333);
    assert.equal(config.store.path, join(sub, '.townhall'));
    assert.equal(config.town.name, 'springfield');
  });

  test('a relative --config is resolved against cwd', () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'conf'));
    writeFileSync(join(cwd, 'conf', 'tinytown.toml'), '[townhall]\nport = 4444\n');
    const { config } = loadConfig({ flags: { config: 'conf/tinytown.toml' }, env: {}, cwd });
    assert.equal(config.port, 4444);
    assert.equal(config.store.path, join(cwd, 'conf', '.townhall'));
  });

  test('a missing --config file is refused naming the path', () => {
    const cwd = tempDir();
    assert.throws(() => loadConfig({ flags: { config: join(cwd, 'nope.toml') }, env: {}, cwd }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /nope\.toml/);
      return true;
    });
  });

  test('the top-level name key names the town', () => {
    assert.equal(load('name = "springfield"\n').config.town.name, 'springfield');
  });

  test('[townhall.store] path is relative to the config file folder', () => {
    const dir = town('[townhall.store]\npath = "data/journal"\ndurability = "none"\ncompact_after_bytes = 8192\n');
    const { config } = loadConfig({ flags: { town: dir }, env: {}, cwd: tempDir() });
    assert.equal(config.store.path, join(dir, 'data', 'journal'));
    assert.equal(config.store.durability, 'none');
    assert.equal(config.store.compactAfterBytes, 8192);
  });

  test('[townhall] request_timeout_ms and max_body_bytes are read', () => {
    const { config } = load('[townhall]\nrequest_timeout_ms = 1500\nmax_body_bytes = 2048\n');
    assert.equal(config.requestTimeoutMs, 1500);
    assert.equal(config.maxBodyBytes, 2048);
  });

  test('--verbose is carried into the config', () => {
    assert.equal(load('', { flags: { verbose: true } }).config.verbose, true);
  });
});

describe('precedence: flags > env > file > defaults', () => {
  const file = '[townhall]\nbind = "127.0.0.5"\nport = 5005\n';

  test('file over defaults', () => {
    const { config } = load(file);
    assert.equal(config.bind, '127.0.0.5');
    assert.equal(config.port, 5005);
  });

  test('env over file', () => {
    const { config } = load(file, { env: { TOWNHALL_BIND: '127.0.0.4', TOWNHALL_PORT: '4004' } });
    assert.equal(config.bind, '127.0.0.4');
    assert.equal(config.port, 4004);
  });

  test('flags over env', () => {
    const { config } = load(file, { flags: { bind: '127.0.0.3', port: '3003' }, env: { TOWNHALL_BIND: '127.0.0.4', TOWNHALL_PORT: '4004' } });
    assert.equal(config.bind, '127.0.0.3');
    assert.equal(config.port, 3003);
  });

  test('env over defaults without a file value', () => {
    const { config } = load('', { env: { TOWNHALL_BIND: '127.0.0.9', TOWNHALL_PORT: '0' } });
    assert.equal(config.bind, '127.0.0.9');
    assert.equal(config.port, 0);
  });

  test('rest_port is an alias of port', () => {
    assert.equal(load('[townhall]\nrest_port = 9000\n').config.port, 9000);
  });

  test('rest_port in the file still loses to env and flags', () => {
    assert.equal(load('[townhall]\nrest_port = 9000\n', { env: { TOWNHALL_PORT: '9001' } }).config.port, 9001);
    assert.equal(load('[townhall]\nrest_port = 9000\n', { flags: { port: '9002' }, env: { TOWNHALL_PORT: '9001' } }).config.port, 9002);
  });

  test('a bad --port or TOWNHALL_PORT is refused naming its source', () => {
    assert.match(refusal('', { flags: { port: '70000' } }), /--port/);
    assert.match(refusal('', { flags: { port: '80x' } }), /--port/);
    assert.match(refusal('', { env: { TOWNHALL_PORT: '-1' } }), /TOWNHALL_PORT/);
  });

  test('an out-of-range or non-integer port in the file is refused naming the key', () => {
    assert.match(refusal('[townhall]\nport = 70000\n'), /port must be an integer from 0 to 65535/);
    assert.match(refusal('[townhall]\nport = "8080"\n'), /port must be an integer/);
  });
});

describe('unknown keys', () => {
  test('unknown top-level tables and keys are ignored (the file is shared)', () => {
    const { config } = load('default_model = "x"\n[agents]\nfoo = 1\n[agents.bar]\nbaz = true\n[redis]\nurl = "redis://x"\n[townhall]\nport = 1234\n');
    assert.equal(config.port, 1234);
  });

  const cases: Array<[string, string, string, string]> = [
    ['[townhall]', '[townhall]\nprot = 1\n', 'prot', 'port'],
    ['[townhall.auth]', '[townhall.auth]\nverify_cache_ttl = 10\n', 'verify_cache_ttl', 'verify_cache_ttl_secs'],
    ['[townhall.auth] (mode)', '[townhall.auth]\nmdoe = "none"\n', 'mdoe', 'mode'],
    ['[[townhall.auth.keys]]', `[[townhall.auth.keys]]\nid = "ci"\nhash = "${TINYTOWN_HASH}"\nscope = ["admin"]\n`, 'scope', 'scopes'],
    ['[townhall.log]', '[townhall.log]\nfromat = "json"\n', 'fromat', 'format'],
    ['[townhall.store]', '[townhall.store]\npth = "x"\n', 'pth', 'path'],
  ];
  for (const [table, toml, bad, good] of cases) {
    test(`an unknown key in ${table} names it and suggests "${good}"`, () => {
      const msg = refusal(toml);
      assert.ok(msg.includes(`"${bad}"`), msg);
      assert.ok(msg.includes(`did you mean "${good}"`), msg);
    });
  }

  test('an unknown key with no close match lists the valid keys', () => {
    const msg = refusal('[townhall.log]\ncompletely_unrelated_thing = 1\n');
    assert.match(msg, /"completely_unrelated_thing"/);
    assert.match(msg, /valid keys: format/);
  });
});

describe('invalid TOML', () => {
  test('the message gives line and column of the error', () => {
    const msg = refusal('name = "x"\n[townhall]\nport = 80 80\n');
    assert.match(msg, /line 3, column 11/);
    assert.match(msg, /tinytown\.toml/);
  });

  test('a value missing at the end of line 3', () => {
    assert.match(refusal('[townhall]\nport = 8787\nbind = \n'), /line 3, column 8/);
  });

  test('an unterminated table header on line 1', () => {
    assert.match(refusal('[townhall\nport = 1\n'), /line 1, column 10/);
  });
});

describe('auth mode none and the bind address', () => {
  test('mode none on 0.0.0.0 is refused, naming the address and the fix', () => {
    const msg = refusal('[townhall]\nbind = "0.0.0.0"\n');
    assert.match(msg, /0\.0\.0\.0/);
    assert.match(msg, /api_key/);
  });

  test('mode none on a non-loopback bind from env or flags is refused too', () => {
    refusal('', { env: { TOWNHALL_BIND: '0.0.0.0' } });
    refusal('', { flags: { bind: '::' } });
    refusal('', { flags: { bind: '192.168.1.10' } });
    refusal('', { flags: { bind: '128.0.0.1' } });
  });

  for (const bind of ['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '[::1]', 'localhost']) {
    test(`mode none on loopback ${bind} is accepted`, () => {
      const { config, warnings } = load('', { flags: { bind } });
      assert.equal(config.auth.mode, 'none');
      assert.equal(config.bind, bind);
      assert.deepEqual(warnings, []);
    });
  }
});

describe('auth mode selection', () => {
  test('a configured key with no explicit mode means api_key', () => {
    const { config } = load(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\n`);
    assert.equal(config.auth.mode, 'api_key');
    assert.equal(config.auth.keys.length, 1);
  });

  test('the unnamed single key gets id "api_key" and named=false, empty scopes', () => {
    const { config } = load(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\n`);
    const key = config.auth.keys[0]!;
    assert.equal(key.id, 'api_key');
    assert.equal(key.named, false);
    assert.equal(key.hash, TINYTOWN_HASH);
    assert.deepEqual(key.scopes, []);
    assert.equal(key.expiresAt, null);
    assert.equal(key.disabled, false);
  });

  test('api_key_id and api_key_scopes name and scope the single key', () => {
    const { config } = load(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\napi_key_id = "ci"\napi_key_scopes = ["town.read", "town.write"]\n`);
    const key = config.auth.keys[0]!;
    assert.equal(key.id, 'ci');
    assert.equal(key.named, true);
    assert.deepEqual(key.scopes, ['town.read', 'town.write']);
  });

  test('explicit mode none together with keys is refused', () => {
    const msg = refusal(`[townhall.auth]\nmode = "none"\napi_key_hash = "${TINYTOWN_HASH}"\n`);
    assert.match(msg, /none/);
    assert.match(msg, /keys/);
  });

  test('TOWNHALL_AUTH_MODE=none with keys in the file is refused', () => {
    refusal(`[[townhall.auth.keys]]\nid = "a"\nhash = "${TINYTOWN_HASH}"\n`, { env: { TOWNHALL_AUTH_MODE: 'none' } });
  });

  test('mode oidc without an issuer is refused naming the key', () => {
    const msg = refusal('[townhall.auth]\nmode = "oidc"\n');
    assert.match(msg, /^\[townhall\.auth\] issuer: required in mode "oidc"/);
  });

  test('an unknown mode is refused listing the valid ones', () => {
    const msg = refusal('[townhall.auth]\nmode = "password"\n');
    assert.match(msg, /none, api_key, oidc, mtls/);
    assert.match(msg, /"password"/);
  });

  test('mode api_key with no key is refused', () => {
    const msg = refusal('[townhall.auth]\nmode = "api_key"\n');
    assert.match(msg, /at least one enabled, unexpired key/);
    assert.match(msg, /auth-tool/);
  });

  test('mode api_key with only a disabled key is refused', () => {
    refusal(`[townhall.auth]\nmode = "api_key"\n[[townhall.auth.keys]]\nid = "a"\nhash = "${TINYTOWN_HASH}"\ndisabled = true\n`);
  });

  test('keys that are all disabled or expired are refused even without an explicit mode', () => {
    const msg = refusal(
      `[[townhall.auth.keys]]\nid = "a"\nhash = "${TINYTOWN_HASH}"\ndisabled = true\n` +
        `[[townhall.auth.keys]]\nid = "b"\nhash = "${TINYTOWN_HASH}"\nexpires_at = 2001-01-01T00:00:00Z\n`,
    );
    assert.match(msg, /enabled, unexpired/);
  });

  test('one usable key among disabled and expired ones is enough', () => {
    const { config } = load(
      `[[townhall.auth.keys]]\nid = "a"\nhash = "${TINYTOWN_HASH}"\ndisabled = true\n` +
        `[[townhall.auth.keys]]\nid = "b"\nhash = "${TINYTOWN_HASH}"\nexpires_at = 2001-01-01T00:00:00Z\n` +
        `[[townhall.auth.keys]]\nid = "c"\nhash = "${BUTTERCUP_HASH}"\nscopes = ["admin"]\n`,
    );
    assert.equal(config.auth.mode, 'api_key');
    assert.deepEqual(config.auth.keys.map((k) => [k.id, k.named, k.disabled]), [['a', true, true], ['b', true, false], ['c', true, false]]);
    assert.equal(config.auth.keys[1]!.expiresAt, Date.UTC(2001, 0, 1));
  });

  test('a non-loopback bind with api_key starts with a warning mentioning TLS', () => {
    const { config, warnings } = load(`[townhall]\nbind = "0.0.0.0"\n[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\n`);
    assert.equal(config.auth.mode, 'api_key');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /TLS/);
    assert.match(warnings[0]!, /0\.0\.0\.0/);
  });

  test('a loopback bind with api_key has no warning', () => {
    assert.deepEqual(load(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\n`).warnings, []);
  });
});

describe('hash checks', () => {
  let weakHash = '';
  before(async () => {
    weakHash = await hashToken('weak-token-for-tests-0123456789abcdef', { memoryCost: 4096, timeCost: 1, parallelism: 1 });
  });

  const notArgon2id: Array<[string, string]> = [
    ['argon2i', '$argon2i$v=19$m=65536,t=3,p=4$Si1olb9wP0mnaab47y+2lQ$Lhb3XPqy3ZXx1R1SYwYAt77wX19K7dr9WTNo8w/I0UE'],
    ['argon2d', '$argon2d$v=19$m=65536,t=3,p=4$Si1olb9wP0mnaab47y+2lQ$Lhb3XPqy3ZXx1R1SYwYAt77wX19K7dr9WTNo8w/I0UE'],
    ['bcrypt', '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'],
    ['plain token', TINYTOWN_KEY],
    ['argon2id v=16', '$argon2id$v=16$m=65536,t=3,p=4$Si1olb9wP0mnaab47y+2lQ$Lhb3XPqy3ZXx1R1SYwYAt77wX19K7dr9WTNo8w/I0UE'],
    ['argon2id missing p', '$argon2id$v=19$m=65536,t=3$Si1olb9wP0mnaab47y+2lQ$Lhb3XPqy3ZXx1R1SYwYAt77wX19K7dr9WTNo8w/I0UE'],
    ['argon2id duplicate m', '$argon2id$v=19$m=65536,m=65536,t=3,p=4$Si1olb9wP0mnaab47y+2lQ$Lhb3XPqy3ZXx1R1SYwYAt77wX19K7dr9WTNo8w/I0UE'],
  ];
  for (const [what, hash] of notArgon2id) {
    test(`a ${what} hash is refused, and the message does not contain the hash`, () => {
      const msg = refusal(`[[townhall.auth.keys]]\nid = "ci"\nhash = "${hash}"\n`);
      assert.match(msg, /"ci"/);
      assert.match(msg, /argon2id|Argon2|m, t, p|parameters/i);
      assert.ok(!msg.includes(hash), `message leaks the hash: ${msg}`);
      // Not even the salt or digest part.
      for (const part of hash.split('$').filter((p) => p.length >= 16)) assert.ok(!msg.includes(part), `message leaks ${part}`);
    });
  }

  test('a non-Argon2id hash from TOWNHALL_API_TOKEN_HASH is refused naming the variable, not the value', () => {
    const bcrypt = '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW';
    const msg = refusal('', { env: { TOWNHALL_API_TOKEN_HASH: bcrypt } });
    assert.match(msg, /TOWNHALL_API_TOKEN_HASH/);
    assert.ok(!msg.includes(bcrypt));
  });

  test('an invalid TOWNHALL_API_KEY_HASH is refused naming TOWNHALL_API_KEY_HASH', () => {
    const msg = refusal('', { env: { TOWNHALL_API_KEY_HASH: 'not-a-hash' } });
    assert.match(msg, /TOWNHALL_API_KEY_HASH/);
  });

  test('a weak hash (m=4096,t=1) is refused with advice', () => {
    const msg = refusal(`[townhall.auth]\napi_key_hash = "${weakHash}"\n`);
    assert.match(msg, /m=4096,t=1/);
    assert.match(msg, /OWASP/);
    assert.match(msg, /allow_weak_hashes = true/);
    assert.ok(!msg.includes(weakHash));
  });

  test('a weak hash is accepted with allow_weak_hashes = true', () => {
    const { config } = load(`[townhall.auth]\nallow_weak_hashes = true\napi_key_hash = "${weakHash}"\n`);
    assert.equal(config.auth.allowWeakHashes, true);
    assert.equal(config.auth.keys[0]!.hash, weakHash);
  });

  test('the weak-hash check applies to list keys too', () => {
    const msg = refusal(`[[townhall.auth.keys]]\nid = "old"\nhash = "${weakHash}"\n`);
    assert.match(msg, /"old"/);
  });

  const owasp: Array<[number, number, boolean]> = [
    [47104, 1, true],
    [47103, 1, false],
    [19456, 2, true],
    [19455, 2, false],
    [19456, 1, false],
    [12288, 3, true],
    [12287, 3, false],
    [9216, 4, true],
    [9215, 4, false],
    [7168, 5, true],
    [7167, 5, false],
    [7167, 100, false],
    [1048576, 1, true],
  ];
  for (const [m, t, ok] of owasp) {
    test(`meetsOwaspMinimum m=${m},t=${t} -> ${ok}`, () => {
      assert.equal(meetsOwaspMinimum({ memoryCost: m, timeCost: t, parallelism: 1 }), ok);
      assert.equal(meetsOwaspMinimum({ memoryCost: m, timeCost: t, parallelism: 8 }), ok, 'p does not matter');
    });
  }

  test('loadConfig applies the OWASP pairs at their boundaries', () => {
    for (const [m, t, ok] of [[47104, 1, true], [47103, 1, false], [7168, 5, true], [7167, 5, false]] as const) {
      const toml = `[[townhall.auth.keys]]\nid = "k"\nhash = "${withParams(m, t)}"\n`;
      if (ok) assert.equal(load(toml).config.auth.keys.length, 1);
      else assert.match(refusal(toml), /weaker than OWASP/);
    }
  });

  for (const order of ['m=19456,t=2,p=1', 't=2,p=1,m=19456', 'm=19456,p=1,t=2', 'p=1,m=19456,t=2']) {
    test(`parameter order ${order} is accepted`, () => {
      const hash = phc(order);
      const { config } = load(`[townhall.auth]\napi_key_hash = "${hash}"\n`);
      assert.equal(config.auth.keys[0]!.hash, hash);
      const parsed = parseArgon2idPhc(hash) as ParsedPhc;
      assert.equal(typeof parsed, 'object');
      assert.deepEqual([parsed.memoryCost, parsed.timeCost, parsed.parallelism], [19456, 2, 1]);
      assert.equal(formatPhc(parsed), TINYTOWN_HASH);
    });
  }

  test('a reordered (t,p,m) Tinytown hash still verifies its key', async () => {
    assert.equal(await verifyToken(phc('t=2,p=1,m=19456'), TINYTOWN_KEY), true);
    assert.equal(await verifyToken(phc('t=2,p=1,m=19456'), TINYTOWN_KEY + 'x'), false);
  });
});

describe('scopes and ids', () => {
  test('an unknown scope is refused, naming it and the valid scopes', () => {
    const msg = refusal(`[[townhall.auth.keys]]\nid = "ci"\nhash = "${TINYTOWN_HASH}"\nscopes = ["town.read", "town.delete"]\n`);
    assert.match(msg, /"town\.delete"/);
    assert.match(msg, /town\.read, town\.write, agent\.manage, admin/);
  });

  test('an unknown scope in api_key_scopes is refused', () => {
    assert.match(refusal(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\napi_key_scopes = ["root"]\n`), /"root"/);
  });

  test('api_key_scopes as a comma-separated string is accepted', () => {
    const { config } = load(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\napi_key_scopes = "town.read, agent.manage"\n`);
    assert.deepEqual(config.auth.keys[0]!.scopes, ['town.read', 'agent.manage']);
  });

  test('two keys with the same id are refused naming the id', () => {
    const msg = refusal(
      `[[townhall.auth.keys]]\nid = "ci"\nhash = "${TINYTOWN_HASH}"\n[[townhall.auth.keys]]\nid = "ci"\nhash = "${BUTTERCUP_HASH}"\n`,
    );
    assert.match(msg, /same id "ci"/);
  });

  test('the single key and a list key with the same id are refused', () => {
    assert.match(
      refusal(`[[townhall.auth.keys]]\nid = "ci"\nhash = "${BUTTERCUP_HASH}"\n`, { env: { TOWNHALL_API_TOKEN_HASH: TINYTOWN_HASH, TOWNHALL_API_KEY_ID: 'ci' } }),
      /same id "ci"/,
    );
    assert.match(refusal(`[[townhall.auth.keys]]\nid = "api_key"\nhash = "${BUTTERCUP_HASH}"\n`, { env: { TOWNHALL_API_TOKEN_HASH: TINYTOWN_HASH } }), /same id "api_key"/);
  });

  test('a list key without an id or hash is refused', () => {
    assert.match(refusal(`[[townhall.auth.keys]]\nhash = "${TINYTOWN_HASH}"\n`), /needs an id/);
    assert.match(refusal('[[townhall.auth.keys]]\nid = "ci"\n'), /needs a hash/);
  });

  test(
    'a key id containing ":" is refused (Basic splits user-id and token at the first colon, so it could never be selected)',
    () => {
      assert.match(refusal(`[[townhall.auth.keys]]\nid = "team:ci"\nhash = "${TINYTOWN_HASH}"\n`), /key id/);
    },
  );

  test('a key id with spaces is refused', () => {
    assert.match(refusal(`[[townhall.auth.keys]]\nid = "my key"\nhash = "${TINYTOWN_HASH}"\n`), /key id must be/);
  });
});

describe('expires_at', () => {
  const key = (expires: string): string => `[[townhall.auth.keys]]\nid = "ci"\nhash = "${TINYTOWN_HASH}"\nexpires_at = ${expires}\n`;

  test('a TOML offset datetime', () => {
    assert.equal(load(key('2099-01-01T00:00:00Z')).config.auth.keys[0]!.expiresAt, Date.UTC(2099, 0, 1));
  });

  test('an RFC 3339 string with an offset', () => {
    assert.equal(load(key('"2099-01-01T00:00:00+02:00"')).config.auth.keys[0]!.expiresAt, Date.UTC(2098, 11, 31, 22));
  });

  test('an RFC 3339 string with fractional seconds and Z', () => {
    assert.equal(load(key('"2099-06-15T12:30:45.250Z"')).config.auth.keys[0]!.expiresAt, Date.UTC(2099, 5, 15, 12, 30, 45, 250));
  });

  test(
    'a TOML local time or local date-time (no offset) is refused, like the same text as a string',
    () => {
      assert.match(refusal(key('12:00:00')), /expires_at must be an RFC 3339 date-time/);
      assert.match(refusal(key('2099-01-01T00:00:00')), /expires_at must be an RFC 3339 date-time/);
    },
  );

  for (const bad of ['"tomorrow"', '"2099-01-01"', '"2099-01-01T00:00:00"', '"2099-13-45T00:00:00Z"', '12345']) {
    test(`a bad expires_at (${bad}) is refused`, () => {
      const msg = refusal(key(bad));
      assert.match(msg, /expires_at must be an RFC 3339 date-time/);
    });
  }
});

describe('environment', () => {
  test('TOWNHALL_API_TOKEN_HASH configures the unnamed key and implies api_key', () => {
    const { config } = load('', { env: { TOWNHALL_API_TOKEN_HASH: TINYTOWN_HASH } });
    assert.equal(config.auth.mode, 'api_key');
    assert.deepEqual(config.auth.keys.map((k) => [k.id, k.named, k.hash]), [['api_key', false, TINYTOWN_HASH]]);
  });

  test('TOWNHALL_API_KEY_HASH is an alias', () => {
    const { config } = load('', { env: { TOWNHALL_API_KEY_HASH: BUTTERCUP_HASH } });
    assert.equal(config.auth.mode, 'api_key');
    assert.equal(config.auth.keys[0]!.hash, BUTTERCUP_HASH);
  });

  test('TOWNHALL_API_TOKEN_HASH wins over the file api_key_hash', () => {
    const { config } = load(`[townhall.auth]\napi_key_hash = "${BUTTERCUP_HASH}"\n`, { env: { TOWNHALL_API_TOKEN_HASH: TINYTOWN_HASH } });
    assert.equal(config.auth.keys.length, 1);
    assert.equal(config.auth.keys[0]!.hash, TINYTOWN_HASH);
  });

  test('an empty TOWNHALL_API_TOKEN_HASH does not discard the key configured in the file (no silent fall to mode none)', () => {
    const { config } = load(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\napi_key_scopes = ["town.read"]\n`, {
      env: { TOWNHALL_API_TOKEN_HASH: '', TOWNHALL_API_KEY_SCOPES: '' },
    });
    assert.equal(config.auth.mode, 'api_key');
    assert.equal(config.auth.keys.length, 1);
    // An empty scopes variable must not turn the key into an admin key (empty list = admin).
    assert.deepEqual(config.auth.keys[0]!.scopes, ['town.read']);
  });

  test('empty TOWNHALL_* variables count as unset', () => {
    const { config } = load('[townhall]\nport = 6006\nbind = "127.0.0.6"\n', {
      env: { TOWNHALL_PORT: '', TOWNHALL_BIND: '', TOWNHALL_AUTH_MODE: '', TOWNHALL_LOG_FORMAT: '' },
    });
    assert.equal(config.port, 6006);
    assert.equal(config.bind, '127.0.0.6');
    assert.equal(config.auth.mode, 'none');
    assert.equal(config.log.format, 'text');
  });

  test('TOWNHALL_API_TOKEN_HASH wins over TOWNHALL_API_KEY_HASH when both are set', () => {
    const { config } = load('', { env: { TOWNHALL_API_TOKEN_HASH: TINYTOWN_HASH, TOWNHALL_API_KEY_HASH: BUTTERCUP_HASH } });
    assert.equal(config.auth.keys.length, 1);
    assert.equal(config.auth.keys[0]!.hash, TINYTOWN_HASH);
  });

  test('TOWNHALL_API_KEY_ID names the key', () => {
    const { config } = load('', { env: { TOWNHALL_API_TOKEN_HASH: TINYTOWN_HASH, TOWNHALL_API_KEY_ID: 'buttercup' } });
    assert.equal(config.auth.keys[0]!.id, 'buttercup');
    assert.equal(config.auth.keys[0]!.named, true);
  });

  test('TOWNHALL_API_KEY_SCOPES is a comma list and overrides the file scopes', () => {
    const { config } = load(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\napi_key_scopes = ["admin"]\n`, {
      env: { TOWNHALL_API_KEY_SCOPES: 'town.read, town.write,agent.manage' },
    });
    assert.deepEqual(config.auth.keys[0]!.scopes, ['town.read', 'town.write', 'agent.manage']);
  });

  test('an unknown scope in TOWNHALL_API_KEY_SCOPES is refused', () => {
    assert.match(refusal('', { env: { TOWNHALL_API_TOKEN_HASH: TINYTOWN_HASH, TOWNHALL_API_KEY_SCOPES: 'town.read,superuser' } }), /"superuser"/);
  });

  test('TOWNHALL_AUTH_MODE overrides the file mode', () => {
    assert.match(refusal('[townhall.auth]\nmode = "none"\n', { env: { TOWNHALL_AUTH_MODE: 'api_key' } }), /at least one enabled/);
    assert.match(refusal('', { env: { TOWNHALL_AUTH_MODE: 'oidc' } }), /issuer: required/);
  });

  test('TOWNHALL_LOG_FORMAT overrides the file format; a bad value is refused', () => {
    assert.equal(load('[townhall.log]\nformat = "text"\n').config.log.format, 'text');
    assert.equal(load('[townhall.log]\nformat = "json"\n').config.log.format, 'json');
    assert.equal(load('[townhall.log]\nformat = "text"\n', { env: { TOWNHALL_LOG_FORMAT: 'json' } }).config.log.format, 'json');
    assert.match(refusal('', { env: { TOWNHALL_LOG_FORMAT: 'xml' } }), /log format must be one of text, json/);
  });
});

describe('tuning keys', () => {
  test('every tuning key is parsed', () => {
    const { config } = load(
      'default_cli = "codex"\nmax_agents = 3\n' +
        '[townhall]\ntrust_proxy = true\nheartbeat_timeout_secs = 45\n' +
        `[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\nverify_cache_ttl_secs = 7\nmax_failed_attempts_per_minute = 5\nargon2_max_concurrency = 3\nargon2_max_queue = 9\n`,
    );
    assert.deepEqual(config.trustProxy, ['127.0.0.0/8', '::1/128'], 'true: loopback proxies only');
    assert.equal(config.town.heartbeatTimeoutSecs, 45);
    assert.equal(config.town.defaultCli, 'codex');
    assert.equal(config.town.maxAgents, 3);
    assert.equal(config.auth.verifyCacheTtlSecs, 7);
    assert.equal(config.auth.maxFailedAttemptsPerMinute, 5);
    assert.equal(config.auth.argon2MaxConcurrency, 3);
    assert.equal(config.auth.argon2MaxQueue, 9);
  });

  test('verify_cache_ttl_secs = 0 and argon2_max_queue = 0 are allowed', () => {
    const { config } = load(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\nverify_cache_ttl_secs = 0\nargon2_max_queue = 0\n`);
    assert.equal(config.auth.verifyCacheTtlSecs, 0);
    assert.equal(config.auth.argon2MaxQueue, 0);
  });

  test('out-of-range or mistyped tuning values are refused naming the key', () => {
    assert.match(refusal(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\nmax_failed_attempts_per_minute = 0\n`), /max_failed_attempts_per_minute/);
    assert.match(refusal(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\nargon2_max_concurrency = 0\n`), /argon2_max_concurrency/);
    assert.match(refusal('[townhall]\ntrust_proxy = "yes"\n'), /trust_proxy must be true or false, or a list/);
    assert.match(refusal('[townhall]\ntrust_proxy = ["10.0.0.0/33"]\n'), /trust_proxy: "10\.0\.0\.0\/33" is not an IP address or CIDR/);
    assert.deepEqual(load('[townhall]\ntrust_proxy = ["10.0.0.5", "fd00::/8"]\n').config.trustProxy, ['10.0.0.5', 'fd00::/8']);
    assert.match(refusal('[townhall]\nrequest_timeout_ms = 1.5\n'), /request_timeout_ms must be an integer/);
    assert.match(refusal('[townhall.store]\ndurability = "sometimes"\n'), /durability must be one of always, none/);
  });

  test('[townhall] or [townhall.auth] that is not a table is refused', () => {
    assert.match(refusal('townhall = 1\n'), /\[townhall\] must be a table/);
    assert.match(refusal('[townhall]\nauth = "x"\n'), /\[townhall\.auth\] must be a table/);
  });
});
