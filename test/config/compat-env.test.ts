// Buttercup's and Tinytown's environment variables as aliases of Townhall's:
// a Buttercup deployment's environment works unchanged, disagreements and the
// published demo credential stop start-up, and precedence is
// flags > TOWNHALL_* (= BUTTERCUP_TASK_SERVER_*) > TINYTOWN_* > file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../../src/config/config.js';
import { loadConfig, type ConfigFlags, type LoadedConfig } from '../../src/config/load-config.js';

const TINYTOWN_HASH = '$argon2id$v=19$m=19456,t=2,p=1$xiJp23vp95Pk0dHymo8PTg$lKsmTa1NyjSlgxY275HVu1Auh/7LdwjbkYo6ii/Lr8E';
const BUTTERCUP_HASH = '$argon2id$v=19$m=65536,t=3,p=4$Si1olb9wP0mnaab47y+2lQ$Lhb3XPqy3ZXx1R1SYwYAt77wX19K7dr9WTNo8w/I0UE';
const DEMO_ID = '515cc8a0-3019-4c9f-8c1c-72d0b54ae561';
const DEMO_HASH = '$argon2id$v=19$m=65536,t=3,p=4$Dg1v6NPGTyXPoOPF4ozD5A$wa/85ttk17bBsIASSwdR/uGz5UKN/bZuu4wu+JIy1iA';
const KEY_ID = '7d3e2a10-5b4c-4f8e-9a1d-2c6b8e0f4a3b';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function load(toml: string, env: Record<string, string>, flags: ConfigFlags = {}): LoadedConfig {
  const dir = mkdtempSync(join(tmpdir(), 'townhall-compat-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'tinytown.toml'), toml);
  return loadConfig({ flags: { town: dir, ...flags }, env, cwd: dir });
}

function refusal(toml: string, env: Record<string, string>, flags: ConfigFlags = {}): string {
  try {
    load(toml, env, flags);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

const BUTTERCUP = { BUTTERCUP_TASK_SERVER_API_KEY_ID: KEY_ID, BUTTERCUP_TASK_SERVER_API_TOKEN_HASH: BUTTERCUP_HASH };

describe("Buttercup's variables", () => {
  test('a deployment that sets only the two Buttercup variables gets api_key mode, that key, town.read and town.write', () => {
    const { config } = load('', BUTTERCUP);
    assert.equal(config.auth.mode, 'api_key');
    assert.deepEqual(config.auth.keys.map((k) => [k.id, k.named, k.hash, k.scopes]), [[KEY_ID, true, BUTTERCUP_HASH, ['town.read', 'town.write']]]);
  });

  test('HOST and PORT are aliases of TOWNHALL_BIND and TOWNHALL_PORT; flags still win', () => {
    const { config } = load('', { ...BUTTERCUP, BUTTERCUP_TASK_SERVER_HOST: '127.0.0.2', BUTTERCUP_TASK_SERVER_PORT: '8000' });
    assert.deepEqual([config.bind, config.port], ['127.0.0.2', 8000]);
    const flagged = load('', { ...BUTTERCUP, BUTTERCUP_TASK_SERVER_PORT: '8000' }, { port: '9001', bind: '127.0.0.3' });
    assert.deepEqual([flagged.config.bind, flagged.config.port], ['127.0.0.3', 9001]);
    assert.match(refusal('', { BUTTERCUP_TASK_SERVER_PORT: 'eighty' }), /^BUTTERCUP_TASK_SERVER_PORT must be a port number/);
  });

  test('both naming schemes set and agreeing is fine; disagreeing stops start-up naming both', () => {
    assert.equal(load('', { ...BUTTERCUP, TOWNHALL_API_KEY_ID: KEY_ID, TOWNHALL_PORT: '8000', BUTTERCUP_TASK_SERVER_PORT: '8000' }).config.port, 8000);
    assert.match(refusal('', { BUTTERCUP_TASK_SERVER_PORT: '8000', TOWNHALL_PORT: '9000' }), /BUTTERCUP_TASK_SERVER_PORT and TOWNHALL_PORT are both set and disagree \("8000" vs "9000"\)/);
    assert.match(refusal('', { ...BUTTERCUP, TOWNHALL_API_KEY_ID: 'other' }), /BUTTERCUP_TASK_SERVER_API_KEY_ID and TOWNHALL_API_KEY_ID/);
    const hashes = refusal('', { ...BUTTERCUP, TOWNHALL_API_TOKEN_HASH: TINYTOWN_HASH });
    assert.match(hashes, /BUTTERCUP_TASK_SERVER_API_TOKEN_HASH and TOWNHALL_API_TOKEN_HASH are both set and disagree; set only one/);
    assert.ok(!hashes.includes('$argon2id'), 'no hash in the message');
    assert.match(refusal('', { ...BUTTERCUP, TOWNHALL_API_KEY_HASH: TINYTOWN_HASH }), /and TOWNHALL_API_KEY_HASH/);
    assert.match(refusal('', { BUTTERCUP_TASK_SERVER_HOST: '0.0.0.0', TOWNHALL_BIND: '127.0.0.1' }), /BUTTERCUP_TASK_SERVER_HOST and TOWNHALL_BIND/);
  });

  test('one of the pair without the other is refused (Buttercup clients need both)', () => {
    assert.match(refusal('', { BUTTERCUP_TASK_SERVER_API_KEY_ID: KEY_ID }), /BUTTERCUP_TASK_SERVER_API_KEY_ID is set but BUTTERCUP_TASK_SERVER_API_TOKEN_HASH is not/);
    assert.match(refusal('', { BUTTERCUP_TASK_SERVER_API_TOKEN_HASH: BUTTERCUP_HASH }), /TOKEN_HASH is set but BUTTERCUP_TASK_SERVER_API_KEY_ID is not/);
  });

  test('TOWNHALL_API_KEY_SCOPES overrides the Buttercup default scopes; a bad Buttercup hash is named by its variable', () => {
    assert.deepEqual(load('', { ...BUTTERCUP, TOWNHALL_API_KEY_SCOPES: 'town.read' }).config.auth.keys[0]!.scopes, ['town.read']);
    assert.match(refusal('', { ...BUTTERCUP, BUTTERCUP_TASK_SERVER_API_TOKEN_HASH: 'not-a-hash' }), /^BUTTERCUP_TASK_SERVER_API_TOKEN_HASH: the hash/);
  });

  test("the repository's demo credential is refused unless bound to loopback", () => {
    const demo = { BUTTERCUP_TASK_SERVER_API_KEY_ID: DEMO_ID, BUTTERCUP_TASK_SERVER_API_TOKEN_HASH: DEMO_HASH };
    assert.equal(load('', demo).config.auth.keys[0]!.id, DEMO_ID);
    assert.match(refusal('', { ...demo, BUTTERCUP_TASK_SERVER_HOST: '0.0.0.0' }), /refusing Buttercup's published demo credential \(key id 515cc8a0-.*\) on non-loopback address 0\.0\.0\.0/);
    // The demo hash under another id, or in the file, is the same public token.
    assert.match(refusal(`[[townhall.auth.keys]]\nid = "mine"\nhash = "${DEMO_HASH}"\n`, {}, { bind: '10.0.0.5' }), /demo credential/);
  });
});

describe("Tinytown's variables", () => {
  test('TINYTOWN_TOWN_NAME, TINYTOWN_REST_BIND and TINYTOWN_REST_PORT beat the file and lose to TOWNHALL_* and flags', () => {
    const file = 'name = "from-file"\n[townhall]\nbind = "127.0.0.9"\nport = 7000\n';
    const tiny = { TINYTOWN_TOWN_NAME: 'tiny', TINYTOWN_REST_BIND: '127.0.0.8', TINYTOWN_REST_PORT: '8080' };
    let { config } = load(file, tiny);
    assert.deepEqual([config.town.name, config.bind, config.port], ['tiny', '127.0.0.8', 8080]);
    ({ config } = load(file, { ...tiny, TOWNHALL_BIND: '127.0.0.7', TOWNHALL_PORT: '9090' }));
    assert.deepEqual([config.bind, config.port], ['127.0.0.7', 9090]);
    ({ config } = load(file, { ...tiny, TOWNHALL_PORT: '9090' }, { port: '9191' }));
    assert.equal(config.port, 9191);
    ({ config } = load(file, {}));
    assert.deepEqual([config.town.name, config.bind, config.port], ['from-file', '127.0.0.9', 7000]);
    assert.match(refusal('', { TINYTOWN_REST_PORT: 'x' }), /^TINYTOWN_REST_PORT must be a port number/);
  });

  test('TINYTOWN_REST_BIND on a non-loopback address with no key is refused like TOWNHALL_BIND', () => {
    assert.match(refusal('', { TINYTOWN_REST_BIND: '0.0.0.0' }), /non-loopback address 0\.0\.0\.0/);
  });
});

describe('[townhall.crs]', () => {
  test('max_sarif_bytes defaults to 16 MiB and is bounded', () => {
    assert.equal(load('', {}).config.crs.maxSarifBytes, 16 * 1024 * 1024);
    assert.equal(load('[townhall.crs]\nmax_sarif_bytes = 4096\n', {}).config.crs.maxSarifBytes, 4096);
    assert.match(refusal('[townhall.crs]\nmax_sarif_bytes = 10\n', {}), /max_sarif_bytes/);
    assert.match(refusal('[townhall.crs]\nmax_sarif = 10\n', {}), /unknown key "max_sarif" in \[townhall\.crs\]; valid keys: max_sarif_bytes/);
  });
});
