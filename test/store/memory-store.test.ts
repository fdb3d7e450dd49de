import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { runStoreContract } from './store-contract.js';

runStoreContract('memory', async () => {
  const store = createMemoryStore();
  return { store, cleanup: () => store.close() };
});

test('memory store: a transaction cannot start inside another one', async () => {
  const store = createMemoryStore();
  let inner: Promise<unknown> | undefined;
  await store.transact((tx) => {
    tx.put('agents', 'outer', { id: 'outer' });
    inner = store.transact((tx2) => tx2.put('agents', 'inner', { id: 'inner' }));
  });
  await assert.rejects(inner!, /inside another transaction/);
  assert.deepEqual(await store.read((tx) => tx.list('agents')), [{ id: 'outer' }]);
});

test('memory store: unknown collections and non-string ids are refused', async () => {
  const store = createMemoryStore();
  await assert.rejects(store.transact((tx) => tx.put('nope' as 'agents', 'x', {})), TypeError);
  await assert.rejects(store.transact((tx) => tx.put('agents', 5 as unknown as string, {})), TypeError);
  await assert.rejects(store.read((tx) => tx.list('nope' as 'agents')), TypeError);
});
