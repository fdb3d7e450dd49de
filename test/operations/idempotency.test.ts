// Idempotency records commit in the same transaction as what the operation
// created, so a crash cannot leave a created record without its key, and the
// earlier answer is looked up inside that transaction (no lock needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIdempotency, IDEMPOTENCY_TTL_MS, purgeExpiredIdempotency, Replay } from '../../src/operations/idempotency.js';
import { OpError } from '../../src/errors.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { Store } from '../../src/store/store.js';
import { createTown } from '../../src/town/town.js';

function countingStore(): { store: Store; transactions: () => number } {
  const inner = createMemoryStore();
  let n = 0;
  return {
    transactions: () => n,
    store: {
      read: (fn) => inner.read(fn),
      close: () => inner.close(),
      version: () => inner.version(),
      transact(fn) {
        n++;
        return inner.transact(fn);
      },
    },
  };
}

const config = { name: 't', defaultCli: 'claude', maxAgents: 5, heartbeatTimeoutSecs: 120 };
const clock = { now: () => Date.parse('2026-11-26T12:00:00Z') };

test('a created task and its idempotency record share one transaction; a retry replays inside it', async () => {
  const { store, transactions } = countingStore();
  const town = createTown({ store, clock, config });
  const idem = createIdempotency(store, clock);
  const call = idem.begin('p', 'backlog.add', 'k1', { description: 'x' });
  const first = await town.addBacklog({ description: 'x' }, call.hook);
  await call.settle(first);
  assert.equal(transactions(), 1, 'one transaction holds the task and the key');
  const retry = idem.begin('p', 'backlog.add', 'k1', { description: 'x' });
  const replay = await town.addBacklog({ description: 'x' }, retry.hook).then(
    () => assert.fail('must not run again'),
    (err: unknown) => err,
  );
  assert.ok(replay instanceof Replay);
  assert.deepEqual(replay.stored.output, first);
  assert.equal((await town.listBacklog()).total, 1);
});

test('an output that differs from the transaction result is rewritten, so replays stay exact', async () => {
  const { store, transactions } = countingStore();
  const town = createTown({ store, clock, config });
  const idem = createIdempotency(store, clock);
  const call = idem.begin('p', 'x', 'k2', {});
  const task = await town.addBacklog({ description: 'y' }, call.hook);
  await call.settle({ wrapped: task.id });
  assert.equal(transactions(), 2);
  const stored = await store.read((tx) => tx.list<{ output: unknown }>('idempotency'));
  assert.deepEqual(stored[0]!.output, { wrapped: task.id });
});

test('a malformed key is invalid input', () => {
  const idem = createIdempotency(createMemoryStore(), clock);
  assert.throws(() => idem.begin('p', 'x', 'bad key\n', {}), /input.invalid/);
});

test('each principal holds a bounded number of live keys; expiry frees them; failures do not grow the count', async () => {
  let now = Date.parse('2026-11-26T12:00:00Z');
  const clk = { now: () => now };
  const store = createMemoryStore();
  const town = createTown({ store, clock: clk, config });
  const idem = createIdempotency(store, clk, 2);
  for (const key of ['a', 'b']) {
    const call = idem.begin('p', 'backlog.add', key, { description: key });
    await call.settle(await town.addBacklog({ description: key }, call.hook));
  }
  const third = idem.begin('p', 'backlog.add', 'c', { description: 'c' });
  const refused = await town.addBacklog({ description: 'c' }, third.hook).catch((e: unknown) => e);
  assert.ok(refused instanceof OpError && refused.code === 'rate.limited');
  await third.fail(new OpError('agent.not_found', 'x'));
  assert.equal((await town.listBacklog()).total, 2, 'the refused call created nothing');
  // Another principal has its own allowance; a replay of a held key still works.
  const other = idem.begin('q', 'backlog.add', 'a', { description: 'q' });
  await other.settle(await town.addBacklog({ description: 'q' }, other.hook));
  const again = idem.begin('p', 'backlog.add', 'a', { description: 'a' });
  assert.ok((await town.addBacklog({ description: 'a' }, again.hook).catch((e: unknown) => e)) instanceof Replay);
  now += IDEMPOTENCY_TTL_MS + 1;
  assert.equal(await purgeExpiredIdempotency(store, clk), 3);
  const freed = idem.begin('p', 'backlog.add', 'c', { description: 'c' });
  await freed.settle(await town.addBacklog({ description: 'c' }, freed.hook));
  assert.equal(await store.read((tx) => tx.get('meta', 'idempotency_keys:p')), 1);
});
