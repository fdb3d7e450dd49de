// Several real Townhall servers serving one town from one real redis-server:
// the guarantees of issue 10 as a client sees them over HTTP.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { redisSkipReason, startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import { closeAll, redisToml, startReplicas } from '../helpers/redis-replicas.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const skip = redisSkipReason();

if (skip !== false) {
  test('Redis replica tests', { skip }, () => {});
} else {
  describe('three replicas on one Redis', () => {
    let redis: TestRedis;
    before(async () => {
      redis = await startTestRedis();
    });
    after(() => redis.cleanup());

    test('200 concurrent claims of 50 backlog items from 200 agents over three replicas: each item claimed exactly once', async () => {
      const replicas = await startReplicas(redis, `claims-${randomUUID()}`, 3);
      try {
        const [a] = replicas as [TestServer];
        const agents: string[] = [];
        for (let i = 0; i < 200; i++) {
          const r = await replicas[i % 3]!.request('POST', '/v1/agents', { body: { name: `agent-${i}` } });
          assert.equal(r.status, 201, r.text);
          agents.push(r.json.agent_id);
        }
        const items: string[] = [];
        for (let i = 0; i < 50; i++) items.push((await a.request('POST', '/v1/backlog', { body: { description: `item ${i}` } })).json.task_id);
        const claims = await Promise.all(
          agents.map((agent, i) => replicas[i % 3]!.request('POST', `/v1/backlog/${items[i % 50]}/claim`, { body: { agent } })),
        );
        const won = claims.filter((r) => r.status === 200);
        assert.equal(won.length, 50, `statuses: ${[...new Set(claims.map((r) => r.status))].join(',')}`);
        assert.ok(claims.every((r) => r.status === 200 || r.status === 409), 'losers get a 409');
        assert.deepEqual(new Set(won.map((r) => r.json.task_id)), new Set(items), 'every item was claimed once');
        for (const s of replicas) {
          const tasks = (await s.request('GET', '/v1/tasks?limit=500')).json.tasks as { id: string; assigned_to: string; state: string }[];
          for (const t of tasks) assert.equal(t.state, 'assigned');
          assert.deepEqual(new Set(tasks.map((t) => t.assigned_to)).size, 50, 'fifty different agents hold the fifty items');
        }
        // Concurrent completions, heartbeats and sends over all replicas all land.
        const completed = await Promise.all(items.map((id, i) => replicas[i % 3]!.request('POST', `/v1/tasks/${id}/complete`, { body: { result: `done ${i}` } })));
        assert.ok(completed.every((r) => r.status === 200), [...new Set(completed.map((r) => r.status))].join(','));
        const states = (await replicas[1]!.request('GET', '/v1/tasks?limit=500')).json.tasks as { state: string; result: string }[];
        assert.equal(states.filter((t) => t.state === 'completed').length, 50);
        const writes = await Promise.all(
          agents.slice(0, 60).flatMap((agent, i) => [
            replicas[i % 3]!.request('POST', `/v1/agents/${agent}/heartbeat`, { body: {} }),
            replicas[(i + 1) % 3]!.request('POST', '/v1/messages/send', { body: { to: agent, message: `m${i}` } }),
          ]),
        );
        assert.ok(writes.every((r) => r.status === 200 || r.status === 201), [...new Set(writes.map((r) => r.status))].join(','));
        for (let i = 0; i < 60; i++) {
          const inbox = await replicas[(i + 2) % 3]!.request('GET', `/v1/agents/${agents[i]}/inbox`);
          assert.ok(inbox.json.messages.some((m: { message?: string; body?: string }) => (m.message ?? m.body) === `m${i}`), `agent ${i} got its message: ${inbox.text}`);
        }
      } finally {
        await closeAll(replicas);
      }
    });

    test('a write acknowledged by one replica is read by the next request on another', async () => {
      const replicas = await startReplicas(redis, `ryw-${randomUUID()}`, 3);
      try {
        for (let i = 0; i < 30; i++) {
          const created = await replicas[i % 3]!.request('POST', '/v1/backlog', { body: { description: `d${i}` } });
          const seen = await replicas[(i + 1) % 3]!.request('GET', `/v1/tasks/${created.json.task_id}`);
          assert.equal(seen.status, 200, `write ${i} not visible`);
          assert.equal((await replicas[(i + 2) % 3]!.request('GET', '/v1/backlog')).json.total, i + 1);
        }
      } finally {
        await closeAll(replicas);
      }
    });

    test('a long-poll on replica A returns the message replica B sends', async () => {
      const [a, b] = (await startReplicas(redis, `wake-${randomUUID()}`, 2)) as [TestServer, TestServer];
      try {
        await a.request('POST', '/v1/agents', { body: { name: 'mia' } });
        const poll = a.request('POST', '/v1/agents/mia/inbox/next?wait=20');
        // Let the poll find the mailbox empty and start waiting (if it has not, it pops at once: still correct).
        await new Promise((r) => setTimeout(r, 300));
        const sent = await b.request('POST', '/v1/messages/send', { body: { to: 'mia', message: 'wake up' } });
        assert.equal(sent.status, 201);
        const got = await poll;
        // Without the cross-replica wake-up the poll would sleep 20 s and answer 204.
        assert.equal(got.status, 200);
        assert.equal(got.json.id, sent.json.id);
      } finally {
        await closeAll([a, b]);
      }
    });

    test('an Idempotency-Key retried on another replica replays the first answer and creates nothing', async () => {
      const [a, b] = (await startReplicas(redis, `idem-${randomUUID()}`, 2)) as [TestServer, TestServer];
      try {
        const headers = { 'idempotency-key': 'k-1' };
        const first = await a.request('POST', '/v1/backlog', { headers, body: { description: 'once' } });
        const retry = await b.request('POST', '/v1/backlog', { headers, body: { description: 'once' } });
        assert.equal(first.status, 201);
        assert.equal(retry.status, 201);
        assert.equal(retry.headers['idempotent-replayed'], 'true');
        assert.deepEqual(retry.json, first.json);
        assert.equal((await a.request('GET', '/v1/backlog')).json.total, 1);
      } finally {
        await closeAll([a, b]);
      }
    });

    test('the same Idempotency-Key sent to three replicas at once creates one task; the others replay it', async () => {
      const replicas = await startReplicas(redis, `idem-race-${randomUUID()}`, 3);
      try {
        for (let round = 0; round < 5; round++) {
          const headers = { 'idempotency-key': `race-${round}` };
          const answers = await Promise.all(replicas.map((s) => s.request('POST', '/v1/backlog', { headers, body: { description: `race ${round}` } })));
          assert.ok(answers.every((r) => r.status === 201), answers.map((r) => r.status).join(','));
          assert.equal(new Set(answers.map((r) => r.json.task_id)).size, 1, 'every replica answers with the one task');
          assert.equal(answers.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 2);
        }
        assert.equal((await replicas[0]!.request('GET', '/v1/backlog')).json.total, 5);
      } finally {
        await closeAll(replicas);
      }
    });

    test('a replica started later against an existing town catches up and serves', async () => {
      const town = `join-${randomUUID()}`;
      const [a] = (await startReplicas(redis, town, 1)) as [TestServer];
      let late: TestServer | undefined;
      try {
        for (let i = 0; i < 25; i++) await a.request('POST', '/v1/backlog', { body: { description: `d${i}` } });
        late = await startTestServer({ toml: redisToml(redis, town) });
        const listed = await late.request('GET', '/v1/backlog?limit=100');
        assert.deepEqual(listed.json.backlog.map((t: { description: string }) => t.description), Array.from({ length: 25 }, (_, i) => `d${i}`));
        assert.equal((await late.request('POST', '/v1/backlog', { body: { description: 'from late' } })).status, 201);
        assert.equal((await a.request('GET', '/v1/backlog')).json.total, 26);
      } finally {
        await closeAll(late === undefined ? [a] : [a, late]);
      }
    });
  });

  describe('Redis outage and secrets over HTTP', () => {
    test('Redis down: 503 with Retry-After, /ready not ready, no hang; back by itself when Redis returns', async () => {
      const redis = await startTestRedis({ args: ['--requirepass', 'pw-5be1'] });
      const url = `redis://:pw-5be1@127.0.0.1:${redis.port}`;
      const s = await startTestServer({ toml: `name = "outage"\n[townhall.store]\nbackend = "redis"\n`, env: { TOWNHALL_REDIS_URL: url } });
      try {
        assert.equal((await s.request('POST', '/v1/backlog', { body: { description: 'before' } })).status, 201);
        assert.equal((await s.request('GET', '/ready')).status, 200);
        const town = await s.request('GET', '/v1/town');
        assert.doesNotMatch(town.text, /pw-5be1/);
        await redis.stop();
        const write = await s.request('POST', '/v1/backlog', { body: { description: 'during' } });
        assert.equal(write.status, 503, write.text);
        assert.ok(Number(write.headers['retry-after']) > 0, 'Retry-After is set');
        assert.doesNotMatch(write.text, /pw-5be1/);
        assert.equal((await s.request('GET', '/v1/backlog')).status, 503);
        const notReady = await s.request('GET', '/ready');
        assert.equal(notReady.status, 503);
        assert.match(notReady.json.detail, /cannot reach its store/);
        await redis.start();
        const deadline = Date.now() + 10_000;
        while ((await s.request('GET', '/ready')).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.equal((await s.request('POST', '/v1/backlog', { body: { description: 'after' } })).status, 201);
        const listed = await s.request('GET', '/v1/backlog');
        assert.deepEqual(listed.json.backlog.map((t: { description: string }) => t.description), ['before', 'after']);
        assert.doesNotMatch([...s.logs, ...s.audit].join('\n'), /pw-5be1/);
        assert.match(s.logs.join('\n'), /redis:\/\/:\*\*\*\*@127\.0\.0\.1/);
      } finally {
        await s.close();
        await redis.cleanup();
      }
    });
  });
}
