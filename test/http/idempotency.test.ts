// Idempotency records commit in the same transaction as what the POST
// created, so a crash cannot leave a created record without its key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIdempotency } from '../../src/http/idempotency.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { Store } from '../../src/store/store.js';
import { withTransactionHooks } from '../../src/store/transaction-hook.js';
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

test('a created task and its idempotency record share one transaction', async () => {
  const { store, transactions } = countingStore();
  const town = createTown({ store: withTransactionHooks(store), clock, config });
  const idem = createIdempotency(store, clock);
  const scope = { principal: 'p', route: 'POST /v1/backlog', key: 'k1', body: { description: 'x' }, successStatus: 201 };
  const first = await idem.run(scope, async () => ({ status: 201, body: await town.addBacklog({ description: 'x' }) }));
  assert.equal(transactions(), 1, 'one transaction holds the task and the key');
  const replay = await idem.run(scope, async () => assert.fail('must not run again'));
  assert.deepEqual([replay.status, replay.body], [first.status, first.body]);
  assert.equal((await town.listBacklog()).total, 1);
});

test('an answer that differs from the transaction result is rewritten, so replays stay exact', async () => {
  const { store, transactions } = countingStore();
  const town = createTown({ store: withTransactionHooks(store), clock, config });
  const idem = createIdempotency(store, clock);
  const scope = { principal: 'p', route: 'POST /x', key: 'k2', body: {}, successStatus: 201 };
  const first = await idem.run(scope, async () => {
    const task = await town.addBacklog({ description: 'y' });
    return { status: 202, body: { wrapped: task.id } };
  });
  assert.equal(transactions(), 2);
  const replay = await idem.run(scope, async () => assert.fail('must not run again'));
  assert.deepEqual([replay.status, replay.body], [202, first.body]);
});

test('only the first transaction in the request carries the record', async () => {
  const { store } = countingStore();
  const hooked = withTransactionHooks(store);
  const idem = createIdempotency(store, clock);
  const scope = { principal: 'p', route: 'POST /y', key: 'k3', body: {}, successStatus: 201 };
  await idem.run(scope, async () => {
    await hooked.transact((tx) => tx.put('meta', 'a', 1));
    await hooked.transact((tx) => tx.put('meta', 'b', 2));
    return { status: 201, body: null };
  });
  const records = await store.read((tx) => tx.list<{ status: number }>('idempotency'));
  assert.equal(records.length, 1);
  assert.equal(records[0]!.status, 201);
});
