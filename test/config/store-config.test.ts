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
