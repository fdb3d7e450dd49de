// The failed-attempt limiter shared over Redis: failures on two replicas add
// up, and once the shared count reaches the limit every replica answers 429.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { createFailureLimiter } from '../../src/auth/failure-limiter.js';
import { createRedisFailureLimiter, redisLimiterKeys } from '../../src/auth/redis-failure-limiter.js';
import { systemClock } from '../../src/clock.js';
import { redisSkipReason, startTestRedis } from '../helpers/redis-server.js';
import { redisToml } from '../helpers/redis-replicas.js';
import { startTestServer, TINYTOWN_HASH, TINYTOWN_KEY, type TestServer } from '../helpers/server.js';

const skip = redisSkipReason();

test('failed attempts count across replicas: 10 on A + 10 on B reach the address ceiling (5 x 4) and block it on A too', { skip }, async () => {
  const redis = await startTestRedis();
  const town = `limit-${randomUUID()}`;
  const auth = `[townhall.auth]\nmax_failed_attempts_per_minute = 4\n[[townhall.auth.keys]]\nid = "k"\nhash = "${TINYTOWN_HASH}"\n`;
  const servers: TestServer[] = [];
  const inspect = new Redis(redis.url);
  try {
    for (let i = 0; i < 2; i++) servers.push(await startTestServer({ toml: `${redisToml(redis, town)}${auth}` }));
    const [a, b] = servers as [TestServer, TestServer];
    const status = (s: TestServer, key: string): Promise<number> => s.request('GET', '/v1/status', { headers: { 'x-api-key': key } }).then((r) => r.status);
    // Different wrong keys: each its own credential zone, so only the shared per-address ceiling (20) can block.
    for (const s of [...Array(10).fill(a), ...Array(10).fill(b)] as TestServer[]) assert.equal(await status(s, `wrong-${randomUUID()}`), 401);
    // A has seen only 10 failures itself; the block comes from B over Redis (published in the background).
    let seen = await status(a, TINYTOWN_KEY);
    for (const deadline = Date.now() + 5000; seen !== 429 && Date.now() < deadline; seen = await status(a, TINYTOWN_KEY)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(seen, 429, 'replica A blocks the address after failures on B');
    const keys = await inspect.keys(`test:{${town}}:authfail:*`);
    assert.equal(keys.length, 1, 'one counter per address');
    assert.equal(await inspect.get(keys[0]!), '20');
    const ttl = await inspect.pttl(keys[0]!);
    assert.ok(ttl > 0 && ttl <= 60_000, `the counter expires (${ttl} ms)`);
  } finally {
    inspect.disconnect();
    await Promise.all(servers.map((s) => s.close()));
    await redis.cleanup();
  }
});

test('a withdrawn attempt lifts, on every replica, a block that attempts counted at their start had caused', { skip }, async () => {
  const redis = await startTestRedis();
  const clients = [new Redis(redis.url), new Redis(redis.url)];
  const keys = redisLimiterKeys('test', `withdraw-${randomUUID()}`);
  const [a, b] = await Promise.all(
    clients.map((client) => createRedisFailureLimiter({ ...keys, client, maxPerMinute: 2, clock: systemClock, local: createFailureLimiter(2, systemClock) })),
  );
  const until = async (what: string, check: () => boolean): Promise<void> => {
    for (const deadline = Date.now() + 5000; !check(); await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`);
    }
  };
  try {
    // The shared count blocks at the per-address ceiling: 5 x 2 = 10.
    // Each attempt with its own credential, so only the shared per-address count decides.
    for (let i = 0; i < 5; i++) {
      a!.recordFailure('198.51.100.7', `a${i}`);
      b!.recordFailure('198.51.100.7', `b${i}`);
    }
    const blocked = (l: typeof a): boolean => l!.blockedFor('198.51.100.7', 'another') > 0;
    await until('both replicas block', () => blocked(a) && blocked(b));
    b!.withdraw('198.51.100.7', 'b4');
    await until('both replicas lift the block', () => !blocked(a) && !blocked(b));
  } finally {
    await Promise.all([a!.close(), b!.close()]);
    for (const c of clients) c.disconnect();
    await redis.cleanup();
  }
});
