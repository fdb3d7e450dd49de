// Config keys that are easy to parse and forget to wire: each test proves the
// key changes what the running server does.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestServer, TINYTOWN_HASH, TINYTOWN_KEY } from '../helpers/server.js';
import { metric } from '../helpers/assertions.js';

test('verify_cache_ttl_secs: a cached key is re-verified with Argon2 once the TTL passes', async () => {
  let now = Date.parse('2026-11-26T12:00:00Z');
  const s = await startTestServer({
    clock: { now: () => now },
    toml: `[townhall.auth]\nverify_cache_ttl_secs = 10\n[[townhall.auth.keys]]\nid = "k"\nhash = "${TINYTOWN_HASH}"\n`,
  });
  try {
    const argon2 = async (): Promise<number> => metric((await s.request('GET', '/metrics')).text, 'townhall_argon2_verifications_total');
    const get = (): Promise<number> => s.request('GET', '/v1/status', { headers: { 'x-api-key': TINYTOWN_KEY } }).then((r) => r.status);
    assert.equal(await get(), 200);
    assert.equal(await argon2(), 1);
    now += 9_000;
    assert.equal(await get(), 200);
    assert.equal(await argon2(), 1, 'still cached inside the TTL');
    now += 2_000;
    assert.equal(await get(), 200);
    assert.equal(await argon2(), 2, 'verified again after the TTL');
  } finally {
    await s.close();
  }
});

test('verify_cache_ttl_secs = 0 disables the success cache', async () => {
  const s = await startTestServer({ toml: `[townhall.auth]\nverify_cache_ttl_secs = 0\n[[townhall.auth.keys]]\nid = "k"\nhash = "${TINYTOWN_HASH}"\n` });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await s.request('GET', '/v1/status', { headers: { 'x-api-key': TINYTOWN_KEY } })).status, 200);
    assert.equal(metric((await s.request('GET', '/metrics')).text, 'townhall_argon2_verifications_total'), 3);
  } finally {
    await s.close();
  }
});

test('compact_after_bytes: the journal is compacted into snapshot.json and nothing is lost', async () => {
  const s = await startTestServer({ toml: `[townhall.store]\npath = "data"\ndurability = "always"\ncompact_after_bytes = 4096\n` });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await s.request('POST', '/v1/backlog', { body: { description: `task ${i} `.padEnd(200, 'x') } })).json.id);
    const files = await readdir(join(s.dir, 'data'));
    assert.ok(files.includes('snapshot.json'), `files: ${files.join(', ')}`);
    const listed = (await s.request('GET', '/v1/backlog?limit=1000')).json.backlog.map((t: { id: string }) => t.id);
    assert.deepEqual(listed, ids);
  } finally {
    await s.close();
  }
});

test('[townhall.store] path is relative to the config file folder', async () => {
  const s = await startTestServer({ toml: `[townhall.store]\npath = "state/here"\n` });
  try {
    await s.request('POST', '/v1/backlog', { body: { description: 'x' } });
    assert.ok(existsSync(join(s.dir, 'state/here/journal.log')));
    assert.ok(existsSync(join(s.dir, 'state/here/townhall.lock')));
  } finally {
    await s.close();
  }
});

test('--verbose logs one debug line per request on the server log, and only with the flag', async () => {
  for (const verbose of [true, false]) {
    const s = await startTestServer({ verbose });
    try {
      await s.request('GET', '/health', { headers: { 'x-request-id': 'verbose-1' } });
      const debug = s.logs.filter((l) => / DEBUG townhall: /.test(l));
      if (verbose) assert.ok(debug.some((l) => l.includes('GET "/health" 200') && l.includes('request_id=verbose-1')), debug.join('\n'));
      else assert.deepEqual(debug, []);
    } finally {
      await s.close();
    }
  }
});
