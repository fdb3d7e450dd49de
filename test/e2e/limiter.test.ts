// The failure limiter through the real server: concurrent wrong keys are
// counted when their verification starts, so a burst cannot buy more Argon2
// verifications than the limit (issue 8, item 12). Distinct guesses have
// distinct credential fingerprints, so the per-address ceiling (5x) is the
// limit that applies to them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metric } from '../helpers/assertions.js';
import { startTestServer, TINYTOWN_HASH } from '../helpers/server.js';

test('a burst of 30 concurrent distinct wrong keys runs at most the per-address ceiling (5 x max_failed_attempts_per_minute) of Argon2 verifications', async () => {
  const s = await startTestServer({ toml: `[townhall.auth]\nmax_failed_attempts_per_minute = 3\nargon2_max_queue = 100\n[[townhall.auth.keys]]\nid = "k"\nhash = "${TINYTOWN_HASH}"\n` });
  try {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => s.request('GET', '/v1/status', { headers: { authorization: `Bearer guess-${i}` } })));
    const statuses = answers.map((r) => r.status);
    assert.equal(statuses.filter((x) => x === 401).length, 15, statuses.join(','));
    assert.equal(statuses.filter((x) => x === 429).length, 15);
    assert.equal(metric((await s.request('GET', '/metrics')).text, 'townhall_argon2_verifications_total'), 15);
  } finally {
    await s.close();
  }
});

test('a burst of 30 concurrent guesses at one key id runs at most max_failed_attempts_per_minute Argon2 verifications', async () => {
  const s = await startTestServer({ toml: `[townhall.auth]\nmax_failed_attempts_per_minute = 3\nargon2_max_queue = 100\n[[townhall.auth.keys]]\nid = "k"\nhash = "${TINYTOWN_HASH}"\n` });
  try {
    const basic = (i: number): string => `Basic ${Buffer.from(`k:guess-${i}`).toString('base64')}`;
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => s.request('GET', '/v1/status', { headers: { authorization: basic(i) } })));
    const statuses = answers.map((r) => r.status);
    assert.equal(statuses.filter((x) => x === 401).length, 3, statuses.join(','));
    assert.equal(statuses.filter((x) => x === 429).length, 27);
    assert.equal(metric((await s.request('GET', '/metrics')).text, 'townhall_argon2_verifications_total'), 3);
  } finally {
    await s.close();
  }
});
