// The Redis store against real redis-server instances: the shared Store
// contract, plus what only a shared store has (several replicas, catch-up,
// snapshots, outages).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openRedisStore, type RedisStore, type RedisStoreOptions } from '../../src/store/redis-store.js';
import { StoreOpenError, StoreUnavailableError } from '../../src/store/store-errors.js';
import { redisSkipReason, startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import { runStoreContract } from './store-contract.js';

const skip = redisSkipReason();
const quiet = { warn: () => {}, info: () => {} };

if (skip !== false) {
  test('Redis store tests', { skip }, () => {});
} else {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => {
    await redis.cleanup();
  });

  const open = (town: string, extra: Partial<RedisStoreOptions> = {}): Promise<RedisStore> =>
    openRedisStore({ url: redis.url, keyPrefix: 'test', town, logger: quiet, ...extra });

  runStoreContract('redis', async () => {
    const store = await open(`contract-${randomUUID()}`);
    return { store, cleanup: () => store.close() };
  });

  describe('Redis store: several replicas', () => {
    test('a write on one replica is read on another at once (read your writes)', async () => {
      const town = `ryw-${randomUUID()}`;
      const [a, b] = await Promise.all([open(town), open(town)]);
      try {
        for (let i = 0; i < 20; i++) {
          await a.transact((tx) => tx.put('tasks', `t${i}`, { id: `t${i}` }));
          assert.ok(await b.read((tx) => tx.get('tasks', `t${i}`)), `write ${i} not visible on the other replica`);
        }
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    test('concurrent increments on three replicas lose no update', async () => {
      const town = `inc-${randomUUID()}`;
      const replicas = await Promise.all([open(town), open(town), open(town)]);
      try {
        await Promise.all(
          Array.from({ length: 150 }, (_, i) =>
            replicas[i % 3]!.transact((tx) => tx.put('meta', 'counter', (tx.get<number>('meta', 'counter') ?? 0) + 1)),
          ),
        );
        for (const r of replicas) assert.equal(await r.read((tx) => tx.get('meta', 'counter')), 150);
        const conflicts = replicas.reduce((n, r) => n + r.stats().conflicts, 0);
        assert.ok(conflicts > 0, 'three replicas contending should have lost some races');
      } finally {
        await Promise.all(replicas.map((r) => r.close()));
      }
    });

    test('a replica hears of remote changes and reports the records', async () => {
      const town = `notify-${randomUUID()}`;
      const [a, b] = await Promise.all([open(town), open(town)]);
      try {
        const heard = new Promise<unknown>((resolve) => b.onRemoteChange!((changes) => resolve(changes)));
        await a.transact((tx) => tx.put('messages', 'm1', { id: 'm1', to_agent: 'x' }));
        assert.deepEqual(await heard, [{ collection: 'messages', id: 'm1', value: { id: 'm1', to_agent: 'x' } }]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    test('a joining replica loads the snapshot plus the log after it, in order', async () => {
      const town = `join-${randomUUID()}`;
      const a = await open(town, { snapshotEvery: 10 });
      try {
        for (let i = 0; i < 35; i++) await a.transact((tx) => tx.put('tasks', `t${i}`, { id: `t${i}`, n: i }));
        await a.transact((tx) => tx.delete('tasks', 't3'));
        assert.ok(a.stats().snapshots >= 2, 'snapshots were written');
        const trimmed = await a.client.xlen(`test:{${town}}:log`);
        assert.ok(trimmed < 36, `the log was trimmed (${trimmed} entries)`);
        // Uploaded in parts to a staging key, then renamed: none left behind, and the snapshot does not expire.
        assert.deepEqual(await a.client.keys(`test:{${town}}:snapshot-staging:*`), []);
        assert.equal(await a.client.pttl(`test:{${town}}:snapshot`), -1);
        const b = await open(town);
        try {
          const ids = await b.read((tx) => tx.list<{ id: string }>('tasks').map((t) => t.id));
          assert.deepEqual(ids, Array.from({ length: 35 }, (_, i) => `t${i}`).filter((id) => id !== 't3'));
        } finally {
          await b.close();
        }
      } finally {
        await a.close();
      }
    });
  });

  describe('Redis store: failures', () => {
    test('a malformed log entry stops the replica (503, not healthy) without echoing its contents', async () => {
      const town = `corrupt-${randomUUID()}`;
      const warnings: string[] = [];
      const s = await open(town, { logger: { warn: (m) => void warnings.push(m) } });
      try {
        await s.transact((tx) => tx.put('tasks', 'a', { id: 'a' }));
        await s.client.xadd(`test:{${town}}:log`, '2-0', 'ops', '[["p","tasks","b",{"secret":"cargo-91"}],["x"]]');
        await s.client.set(`test:{${town}}:version`, '2');
        const err = await s.read((tx) => tx.count('tasks')).then(() => assert.fail('read succeeded'), (e: unknown) => e);
        assert.ok(err instanceof StoreUnavailableError && err.reason === 'failed');
        assert.match(err.message, /log entry 2-0 .* is malformed/);
        assert.equal(s.healthy(), false);
        await assert.rejects(s.transact((tx) => tx.put('tasks', 'c', { id: 'c' })), StoreUnavailableError);
        assert.doesNotMatch([err.message, ...warnings].join('\n'), /cargo-91/);
      } finally {
        await s.close();
      }
    });

    test('an unreachable Redis fails start-up with one line naming the redacted URL', async () => {
      const err = await openRedisStore({ url: 'redis://user:s3cret-pw@127.0.0.1:1', keyPrefix: 'test', town: 'x', logger: quiet, commandTimeoutMs: 500 }).then(
        () => assert.fail('opened'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StoreOpenError);
      assert.match(err.message, /cannot reach Redis at redis:\/\/user:\*\*\*\*@127\.0\.0\.1:1/);
      assert.doesNotMatch(err.message, /s3cret-pw/);
    });

    test('an eviction policy other than noeviction is refused at start-up', async () => {
      const r = await startTestRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] });
      try {
        await assert.rejects(openRedisStore({ url: r.url, keyPrefix: 'test', town: 'x', logger: quiet }), /maxmemory-policy allkeys-lru/);
      } finally {
        await r.cleanup();
      }
    });

    test('AOF off is a start-up warning', async () => {
      const r = await startTestRedis({ appendonly: false });
      const warnings: string[] = [];
      try {
        const s = await openRedisStore({ url: r.url, keyPrefix: 'test', town: 'x', logger: { warn: (m) => void warnings.push(m) } });
        await s.close();
        assert.match(warnings.join('\n'), /appendonly no/);
      } finally {
        await r.cleanup();
      }
    });

    test('Redis down: calls fail fast with StoreUnavailableError; Redis back: the store recovers by itself', async () => {
      const r = await startTestRedis();
      try {
        const s = await openRedisStore({ url: r.url, keyPrefix: 'test', town: 'down', logger: quiet, commandTimeoutMs: 500 });
        try {
          await s.transact((tx) => tx.put('tasks', 'before', { id: 'before' }));
          await r.stop();
          await assert.rejects(s.transact((tx) => tx.put('tasks', 'during', { id: 'during' })), StoreUnavailableError);
          await assert.rejects(s.read((tx) => tx.count('tasks')), StoreUnavailableError);
          // The flag follows the client's connection events, which may trail a refused call by a moment.
          for (const until = Date.now() + 5000; s.healthy() && Date.now() < until; ) await new Promise((res) => setTimeout(res, 20));
          assert.equal(s.healthy(), false);
          await r.start();
          const deadline = Date.now() + 10_000;
          while (!s.healthy() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
          assert.equal(s.healthy(), true);
          await s.transact((tx) => tx.put('tasks', 'after', { id: 'after' }));
          assert.deepEqual(await s.read((tx) => tx.list<{ id: string }>('tasks').map((t) => t.id)), ['before', 'after']);
        } finally {
          await s.close();
        }
      } finally {
        await r.cleanup();
      }
    });

    test('a hung Redis (SIGSTOP) fails calls at the command timeout, and the store recovers after SIGCONT', async () => {
      const r = await startTestRedis();
      try {
        const s = await openRedisStore({ url: r.url, keyPrefix: 'test', town: 'hung', logger: quiet, commandTimeoutMs: 300 });
        try {
          await s.transact((tx) => tx.put('tasks', 'before', { id: 'before' }));
          r.pause();
          const write = s.transact((tx) => tx.put('tasks', 'maybe', { id: 'maybe' }));
          const read = s.read((tx) => tx.count('tasks'));
          await assert.rejects(write, StoreUnavailableError);
          await assert.rejects(read, StoreUnavailableError);
          r.resume();
          // The timed-out commit may or may not have been applied by Redis; either way every replica agrees.
          await s.transact((tx) => tx.put('tasks', 'after', { id: 'after' }));
          const ids = await s.read((tx) => tx.ids('tasks'));
          assert.ok(ids[0] === 'before' && ids.at(-1) === 'after' && ids.length <= 3, ids.join(','));
          const other = await openRedisStore({ url: r.url, keyPrefix: 'test', town: 'hung', logger: quiet });
          assert.deepEqual(await other.read((tx) => tx.ids('tasks')), ids);
          await other.close();
        } finally {
          await s.close();
        }
      } finally {
        await r.cleanup();
      }
    });

    test('a password in the URL works and never reaches a log line', async () => {
      const r = await startTestRedis({ args: ['--requirepass', 'pw-7f3a9c'] });
      const lines: string[] = [];
      const logger = { warn: (m: string) => void lines.push(m), info: (m: string) => void lines.push(m) };
      try {
        const s = await openRedisStore({ url: `redis://:pw-7f3a9c@127.0.0.1:${r.port}`, keyPrefix: 'test', town: 'pw', logger, commandTimeoutMs: 500 });
        await s.transact((tx) => tx.put('tasks', 'a', { id: 'a' }));
        await r.stop();
        await assert.rejects(s.transact((tx) => tx.put('tasks', 'b', { id: 'b' })));
        await r.start();
        await s.close();
        await assert.rejects(openRedisStore({ url: `redis://:wrong-9d2e@127.0.0.1:${r.port}`, keyPrefix: 'test', town: 'pw', logger }), (e: unknown) => {
          assert.ok(e instanceof Error);
          assert.doesNotMatch(e.message, /wrong-9d2e/);
          return true;
        });
        assert.ok(lines.length > 0, 'the outage was logged');
        assert.doesNotMatch(lines.join('\n'), /pw-7f3a9c|wrong-9d2e/);
      } finally {
        await r.cleanup();
      }
    });
  });
}
