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

test('retain_completed_secs: the server deletes finished tasks once they are older than that, and keeps the rest', async () => {
  let now = Date.parse('2026-11-30T12:00:00Z');
  const s = await startTestServer({ clock: { now: () => now }, toml: '[townhall.store]\ndurability = "none"\nretain_completed_secs = 4\n' });
  try {
    const post = async (path: string, body: unknown): Promise<any> => (await s.request('POST', path, { body })).json;
    assert.equal((await s.request('POST', '/v1/agents', { body: { name: 'w' } })).status, 201);
    const old = await post('/v1/tasks/assign', { agent: 'w', task: 'finished long ago' });
    await post(`/v1/tasks/${old.id}/complete`, { result: 'ok' });
    const waiting = await post('/v1/backlog', { description: 'still waiting' });
    now += 60_000;
    const fresh = await post('/v1/tasks/assign', { agent: 'w', task: 'finished just now' });
    await post(`/v1/tasks/${fresh.id}/complete`, { result: 'ok' });
    // The sweep runs every second (a quarter of 4 s, at least 1 s): poll until it has.
    const deadline = Date.now() + 10_000;
    while ((await s.request('GET', `/v1/tasks/${old.id}`)).status !== 404) {
      assert.ok(Date.now() < deadline, 'the old finished task was never deleted');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await s.request('GET', `/v1/tasks/${fresh.id}`)).status, 200, 'finished 0 s ago: kept');
    assert.equal((await s.request('GET', `/v1/tasks/${waiting.id}`)).status, 200, 'unfinished: kept however old');
    const status = (await s.request('GET', '/v1/status')).json;
    assert.equal(status.tasks_by_state.completed, 1);
  } finally {
    await s.close();
  }
});

test('retain_completed_secs = 0 keeps every finished task', async () => {
  let now = Date.parse('2026-11-30T12:00:00Z');
  const s = await startTestServer({ clock: { now: () => now }, toml: '[townhall.store]\ndurability = "none"\nretain_completed_secs = 0\n' });
  try {
    const task = (await s.request('POST', '/v1/backlog', { body: { description: 'x' } })).json;
    assert.equal((await s.request('DELETE', `/v1/backlog/${task.id}`)).status, 200);
    now += 365 * 86_400_000;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await s.request('GET', `/v1/tasks/${task.id}`)).status, 200);
  } finally {
    await s.close();
  }
});
