// Real crashes with the Redis store: a replica committing a stream of
// transactions is SIGKILLed mid-stream, then redis-server itself is SIGKILLed
// and restarted from its AOF (appendfsync always). Every transaction the
// replica acknowledged must be there afterwards, read by a fresh replica.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { openRedisStore } from '../../src/store/redis-store.js';
import { redisSkipReason, startTestRedis } from '../helpers/redis-server.js';
import { runAndKill } from '../helpers/kill-after-acks.js';

const CHILD = fileURLToPath(new URL('./redis-crash-child.js', import.meta.url));
const KILL_AFTER_ACKS = 300;
const skip = redisSkipReason();

test('every transaction a replica acknowledged survives its SIGKILL and a SIGKILL + AOF restart of Redis', { skip }, async () => {
  const redis = await startTestRedis();
  try {
    const acked = await runAndKill(CHILD, [redis.url, 'crash'], KILL_AFTER_ACKS);
    assert.ok(acked.length >= KILL_AFTER_ACKS, `child acknowledged only ${acked.length} transactions`);
    await redis.stop(true);
    await redis.start();
    const store = await openRedisStore({ url: redis.url, keyPrefix: 'test', town: 'crash', logger: { warn: () => {} } });
    try {
      const present = await store.read((tx) => new Set(tx.list<{ id: string }>('tasks').map((t) => t.id)));
      const missing = acked.filter((id) => !present.has(id));
      assert.deepEqual(missing, [], 'acknowledged transactions were lost');
    } finally {
      await store.close();
    }
  } finally {
    await redis.cleanup();
  }
});

