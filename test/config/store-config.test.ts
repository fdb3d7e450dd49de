// [townhall.store] backend / redis_url / key_prefix, and the Tinytown places
// a Redis URL can come from: each key changes the loaded Config, bad values
// fail with one line naming the key and never echoing a password.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { makeCa } from '../helpers/pki.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function load(toml: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'townhall-storecfg-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'tinytown.toml'), `name = "t"\n${toml}`);
  return loadConfig({ flags: { town: dir }, env, cwd: dir }).config.store;
}

test('the journal is the default backend and needs no Redis URL', () => {
  const store = load('');
  assert.equal(store.backend, 'journal');
  assert.equal(store.redisUrl, null);
  assert.equal(store.keyPrefix, 'townhall');
});

test('backend = "redis" takes redis_url and key_prefix from [townhall.store]', () => {
  const store = load('[townhall.store]\nbackend = "redis"\nredis_url = "redis://127.0.0.1:6390/2"\nkey_prefix = "th-prod"\n');
  assert.deepEqual([store.backend, store.redisUrl, store.keyPrefix], ['redis', 'redis://127.0.0.1:6390/2', 'th-prod']);
});

test('the Redis URL comes from TOWNHALL_REDIS_URL, then [townhall.store], then Tinytown [redis] url, then top-level redis_url', () => {
  const all = 'redis_url = "redis://127.0.0.1:4"\n[redis]\nurl = "redis://127.0.0.1:3"\n[townhall.store]\nbackend = "redis"\nredis_url = "redis://127.0.0.1:2"\n';
  assert.equal(load(all, { TOWNHALL_REDIS_URL: 'rediss://127.0.0.1:1' }).redisUrl, 'rediss://127.0.0.1:1');
  assert.equal(load(all).redisUrl, 'redis://127.0.0.1:2');
  assert.equal(load('redis_url = "redis://127.0.0.1:4"\n[redis]\nurl = "redis://127.0.0.1:3"\n[townhall.store]\nbackend = "redis"\n').redisUrl, 'redis://127.0.0.1:3');
  assert.equal(load('redis_url = "redis://127.0.0.1:4"\n[townhall.store]\nbackend = "redis"\n').redisUrl, 'redis://127.0.0.1:4');
});

test('refusals name the key and never echo the URL', () => {
  const refuse = (toml: string, pattern: RegExp, env: Record<string, string> = {}): void => {
    assert.throws(() => load(toml, env), (err: unknown) => err instanceof ConfigError && pattern.test(err.message) && !err.message.includes('hunter2'));
  };
  refuse('[townhall.store]\nbackend = "postgres"\n', /\[townhall\.store\] backend must be one of journal, redis/);
  refuse('[townhall.store]\nbackend = "redis"\n', /needs a Redis URL: set \[townhall\.store\] redis_url or TOWNHALL_REDIS_URL/);
  refuse('[townhall.store]\nbackend = "redis"\nredis_url = "http://:hunter2@127.0.0.1"\n', /\[townhall\.store\] redis_url must start with redis:\/\/ or rediss:\/\//);
  refuse('[townhall.store]\nbackend = "redis"\n', /TOWNHALL_REDIS_URL is not a valid URL/, { TOWNHALL_REDIS_URL: 'hunter2 not a url' });
  refuse('[townhall.store]\nbackend = "redis"\nredis_url = "redis://127.0.0.1"\nkey_prefix = "a b"\n', /key_prefix must be/);
  refuse('[townhall.store]\nbackend = "redis"\nredis_url = "redis://127.0.0.1"\nkey_prefx = "x"\n', /unknown key "key_prefx" in \[townhall\.store\]; did you mean "key_prefix"/);
});

test('a town name with { or } cannot be used in Redis keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'townhall-storecfg-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'tinytown.toml'), 'name = "a{b}"\n[townhall.store]\nbackend = "redis"\nredis_url = "redis://127.0.0.1"\n');
  assert.throws(() => loadConfig({ flags: { town: dir }, env: {}, cwd: dir }), /contain no \{ or \}/);
});

test('redis_ca_path loads the CA bundle for rediss://, relative to the config folder; unset means the system CAs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'townhall-storecfg-'));
  dirs.push(dir);
  const ca = makeCa(dir, 'redis-ca');
  writeFileSync(join(dir, 'tinytown.toml'), 'name = "t"\n[townhall.store]\nbackend = "redis"\nredis_url = "rediss://127.0.0.1:6380"\nredis_ca_path = "redis-ca/ca.pem"\n');
  const store = loadConfig({ flags: { town: dir }, env: {}, cwd: '/' }).config.store;
  assert.equal(store.redisCaPath, ca.certPath);
  assert.deepEqual(store.redisCa, ca.cert);
  const system = load('[townhall.store]\nbackend = "redis"\nredis_url = "rediss://127.0.0.1:6380"\n');
  assert.equal(system.redisCa, null);
  assert.equal(system.redisCaPath, null);
  // The journal does not use it.
  assert.equal(load(`[townhall.store]\nredis_ca_path = "${ca.certPath}"\n`).redisCa, null);
});

test('a bad redis_ca_path is one start-up line naming the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'townhall-storecfg-'));
  dirs.push(dir);
  const ca = makeCa(dir, 'redis-ca');
  writeFileSync(join(dir, 'not-pem.txt'), 'hello');
  const store = (url: string, path: string): string => `[townhall.store]\nbackend = "redis"\nredis_url = "${url}"\nredis_ca_path = "${path}"\n`;
  const refuse = (toml: string, pattern: RegExp): void => {
    assert.throws(() => load(toml), (err: unknown) => err instanceof ConfigError && pattern.test(err.message) && !err.message.includes('\n') && !err.message.includes('hunter2'));
  };
  refuse(store('rediss://:hunter2@127.0.0.1', join(dir, 'missing.pem')), /^\[townhall\.store\] redis_ca_path: no such file: .*missing\.pem$/);
  refuse(store('rediss://:hunter2@127.0.0.1', join(dir, 'not-pem.txt')), /^\[townhall\.store\] redis_ca_path: not a PEM certificate file/);
  refuse(store('rediss://:hunter2@127.0.0.1', dir), /^\[townhall\.store\] redis_ca_path: is a directory/);
  refuse(store('redis://:hunter2@127.0.0.1', ca.certPath), /^\[townhall\.store\] redis_ca_path: set, but \[townhall\.store\] redis_url is not a rediss:\/\/ URL/);
  refuse(`[townhall.store]\nbackend = "redis"\nredis_url = "redis://127.0.0.1"\nredis_ca_file = "x"\n`, /unknown key "redis_ca_file" in \[townhall\.store\]; did you mean "redis_ca_path"/);
});
