// A busy client's key outlives its cached verification: when the entry
// expires, the requests that arrive together with that key share one Argon2
// run. Before, each ran its own, the Argon2 queue filled, and a client that
// had done nothing wrong got a burst of 503s every verify_cache_ttl_secs
// (the bench saw thousands). Wrong keys share a run the same way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metric } from '../helpers/assertions.js';
import { startTestServer, TINYTOWN_HASH, TINYTOWN_KEY } from '../helpers/server.js';

const CONCURRENT = 24;

test('requests that arrive together after the cached verification expired share one Argon2 run: no 503', async () => {
  let now = Date.parse('2026-11-30T12:00:00Z');
  const s = await startTestServer({
    clock: { now: () => now },
    // A queue of 8 gives one address 2 places: 24 separate verifications could not all wait.
    toml: `[townhall.auth]\nverify_cache_ttl_secs = 10\nargon2_max_concurrency = 1\nargon2_max_queue = 8\n[[townhall.auth.keys]]\nid = "k"\nhash = "${TINYTOWN_HASH}"\n`,
  });
  try {
    const argon2 = async (): Promise<number> => metric((await s.request('GET', '/metrics')).text, 'townhall_argon2_verifications_total');
    const burst = (token: string): Promise<number[]> =>
      Promise.all(Array.from({ length: CONCURRENT }, () => s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status)));
    assert.deepEqual(await burst(TINYTOWN_KEY), Array(CONCURRENT).fill(200), 'a cold cache');
    assert.equal(await argon2(), 1);
    now += 11_000;
    assert.deepEqual(await burst(TINYTOWN_KEY), Array(CONCURRENT).fill(200), 'after the cached verification expired');
    assert.equal(await argon2(), 2, 'one more Argon2 run for the whole burst');
    const wrong = `${TINYTOWN_KEY.slice(0, -1)}0`;
    assert.deepEqual(await burst(wrong), Array(CONCURRENT).fill(401), 'a wrong key: 401 for each, never 503');
    assert.equal(await argon2(), 3, 'one run for the whole burst of the same wrong key');
  } finally {
    await s.close();
  }
});
