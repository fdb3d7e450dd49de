// Real crashes with the Redis store: a replica committing a stream of
// transactions is SIGKILLed mid-stream, then redis-server itself is SIGKILLed
// and restarted from its AOF (appendfsync always). Every transaction the
// replica acknowledged must be there afterwards, read by a fresh replica.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openRedisStore } from '../../src/store/redis-store.js';
import { redisSkipReason, startTestRedis } from '../helpers/redis-server.js';

const CHILD = fileURLToPath(new URL('./redis-crash-child.js', import.meta.url));
const KILL_AFTER_ACKS = 300;
const skip = redisSkipReason();

test('every transaction a replica acknowledged survives its SIGKILL and a SIGKILL + AOF restart of Redis', { skip }, async () => {
  const redis = await startTestRedis();
  try {
    const acked = await runAndKill(redis.url, 'crash');
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

function runAndKill(url: string, town: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, url, town], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      acked.push(...lines);
      if (acked.length >= KILL_AFTER_ACKS && child.exitCode === null) child.kill('SIGKILL');
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own (code ${code}) after ${acked.length} acks`));
      else resolve(acked);
    });
  });
}
