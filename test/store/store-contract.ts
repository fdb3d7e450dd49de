// The Store contract: one suite every Store implementation must pass
// (memory, journal with each durability, later Redis). Not a test file by
// itself; each implementation's test file calls runStoreContract.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defineIndex } from '../../src/store/derived-index.js';
import type { Store } from '../../src/store/store.js';

export interface OpenedStore {
  store: Store;
  cleanup(): Promise<void>;
}

interface Item {
  id: string;
  n: number;
  tags?: string[];
}

export function runStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store contract: ${name}`, () => {
    async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
      const { store, cleanup } = await open();
      try {
        await fn(store);
      } finally {
        await cleanup();
      }
    }

    test('version changes with every applied transaction and not with reads or failed transactions', () =>
      withStore(async (store) => {
        const v0 = store.version();
        await store.read((tx) => tx.count('agents'));
        assert.equal(store.version(), v0);
        await store.transact((tx) => tx.put('agents', 'a', { id: 'a' }));
        const v1 = store.version();
        assert.notEqual(v1, v0);
        await assert.rejects(
          store.transact((tx) => {
            tx.put('agents', 'b', { id: 'b' });
            throw new Error('abort');
          }),
        );
        assert.equal(store.version(), v1);
        await store.transact((tx) => tx.delete('agents', 'a'));
        assert.notEqual(store.version(), v1);
      }));

    test('put then get returns the value; missing ids are undefined', () =>
      withStore(async (store) => {
        await store.transact((tx) => tx.put('agents', 'a1', { id: 'a1', n: 1 }));
        assert.deepEqual(await store.read((tx) => tx.get<Item>('agents', 'a1')), { id: 'a1', n: 1 });
        assert.equal(await store.read((tx) => tx.get('agents', 'nope')), undefined);
        assert.equal(await store.read((tx) => tx.get('tasks', 'a1')), undefined, 'collections are separate');
      }));

    test('transact resolves with the function result', () =>
      withStore(async (store) => {
        assert.equal(await store.transact(() => 42), 42);
        assert.equal(await store.transact((tx) => (tx.put('meta', 'k', 'v'), 'done')), 'done');
        assert.equal(await store.read((tx) => tx.get('meta', 'k')), 'v', 'meta may hold scalars');
      }));

    test('list keeps insertion order; an update keeps its place; delete then put goes to the end', () =>
      withStore(async (store) => {
        await store.transact((tx) => {
          for (const id of ['a', 'b', 'c', 'd']) tx.put('tasks', id, { id, n: 0 });
        });
        await store.transact((tx) => tx.put('tasks', 'b', { id: 'b', n: 1 }));
        await store.transact((tx) => tx.delete('tasks', 'a'));
        await store.transact((tx) => tx.put('tasks', 'a', { id: 'a', n: 2 }));
        await store.transact((tx) => {
          tx.delete('tasks', 'c');
          tx.put('tasks', 'c', { id: 'c', n: 3 });
        });
        const items = await store.read((tx) => tx.list<Item>('tasks'));
        assert.deepEqual(
          items.map((i) => `${i.id}${i.n}`),
          ['b1', 'd0', 'a2', 'c3'],
        );
        assert.deepEqual(await store.read((tx) => tx.ids('tasks')), ['b', 'd', 'a', 'c'], 'ids follow the same order');
      }));

    test('create stores a new id at the end; an id that exists after all is updated in place, its index entry moved, as put does', () =>
      withStore(async (store) => {
        const byN = defineIndex<Item>({ name: 'by-n', collection: 'tasks', buckets: (i) => [`n${i.n}`], key: (i) => [i.n] });
        await store.transact((tx) => {
          tx.put('tasks', 'a', { id: 'a', n: 0 });
          tx.put('tasks', 'b', { id: 'b', n: 0 });
        });
        assert.equal(await store.read((tx) => tx.index(byN).count('n0')), 2);
        await store.transact((tx) => {
          tx.create('tasks', 'c', { id: 'c', n: 1 });
          assert.deepEqual(tx.get('tasks', 'c'), { id: 'c', n: 1 }, 'the transaction sees its own create');
        });
        // The caller's promise broken: 'a' exists. The committed state must be put's.
        await store.transact((tx) => tx.create('tasks', 'a', { id: 'a', n: 1 }));
        assert.deepEqual(await store.read((tx) => tx.list<Item>('tasks').map((i) => `${i.id}${i.n}`)), ['a1', 'b0', 'c1']);
        assert.equal(await store.read((tx) => tx.count('tasks')), 3);
        assert.deepEqual(await store.read((tx) => Array.from(tx.index(byN).entries('n1'), (e) => e.id)), ['a', 'c']);
        assert.deepEqual(await store.read((tx) => Array.from(tx.index(byN).entries('n0'), (e) => e.id)), ['b']);
      }));

    test('delete removes; deleting a missing id is a no-op', () =>
      withStore(async (store) => {
        await store.transact((tx) => tx.put('agents', 'x', { id: 'x', n: 1 }));
        await store.transact((tx) => {
          tx.delete('agents', 'x');
          tx.delete('agents', 'never-existed');
        });
        assert.equal(await store.read((tx) => tx.get('agents', 'x')), undefined);
        assert.equal(await store.read((tx) => tx.count('agents')), 0);
      }));

    test('count follows puts and deletes', () =>
      withStore(async (store) => {
        await store.transact((tx) => {
          tx.put('messages', 'm1', { id: 'm1', n: 1 });
          tx.put('messages', 'm2', { id: 'm2', n: 2 });
          tx.put('messages', 'm1', { id: 'm1', n: 3 });
        });
        assert.equal(await store.read((tx) => tx.count('messages')), 2);
        await store.transact((tx) => tx.delete('messages', 'm2'));
        assert.equal(await store.read((tx) => tx.count('messages')), 1);
      }));

    test('a transaction sees its own writes in get, list and count', () =>
      withStore(async (store) => {
        await store.transact((tx) => {
          tx.put('tasks', 't1', { id: 't1', n: 1 });
          tx.put('tasks', 't2', { id: 't2', n: 1 });
        });
        const seen = await store.transact((tx) => {
          tx.put('tasks', 't3', { id: 't3', n: 1 });
          tx.put('tasks', 't1', { id: 't1', n: 2 });
          tx.delete('tasks', 't2');
          tx.put('tasks', 't4', { id: 't4', n: 1 });
          tx.delete('tasks', 't4');
          return {
            t1: tx.get<Item>('tasks', 't1')?.n,
            t2: tx.get('tasks', 't2'),
            t4: tx.get('tasks', 't4'),
            ids: tx.list<Item>('tasks').map((t) => t.id),
            keys: tx.ids('tasks'),
            count: tx.count('tasks'),
          };
        });
        assert.deepEqual(seen, { t1: 2, t2: undefined, t4: undefined, ids: ['t1', 't3'], keys: ['t1', 't3'], count: 2 });
        assert.deepEqual(await store.read((tx) => tx.ids('tasks')), ['t1', 't3']);
        assert.deepEqual(
          await store.read((tx) => tx.list<Item>('tasks').map((t) => `${t.id}${t.n}`)),
          ['t12', 't31'],
        );
      }));

    test('a throwing transaction applies nothing and rejects with its error', () =>
      withStore(async (store) => {
        await store.transact((tx) => tx.put('agents', 'keep', { id: 'keep', n: 1 }));
        const boom = new Error('boom');
        await assert.rejects(
          store.transact((tx) => {
            tx.put('agents', 'keep', { id: 'keep', n: 2 });
            tx.put('agents', 'new', { id: 'new', n: 1 });
            tx.delete('agents', 'keep');
            throw boom;
          }),
          (err) => err === boom,
        );
        assert.deepEqual(await store.read((tx) => tx.list('agents')), [{ id: 'keep', n: 1 }]);
        // The store still works afterwards.
        await store.transact((tx) => tx.put('agents', 'after', { id: 'after', n: 1 }));
        assert.equal(await store.read((tx) => tx.count('agents')), 2);
      }));

    test('a transaction function returning a promise is refused and applies nothing', () =>
      withStore(async (store) => {
        await assert.rejects(
          store.transact(async (tx) => {
            tx.put('agents', 'a', { id: 'a', n: 1 });
            await null;
            tx.put('agents', 'b', { id: 'b', n: 1 }); // the handle is dead by now
          }),
          TypeError,
        );
        assert.equal(await store.read((tx) => tx.count('agents')), 0);
      }));

    test('values that are not JSON abort the transaction', () =>
      withStore(async (store) => {
        await assert.rejects(store.transact((tx) => tx.put('meta', 'big', 1n)), TypeError);
        await assert.rejects(store.transact((tx) => tx.put('meta', 'u', undefined)), TypeError);
        assert.equal(await store.read((tx) => tx.count('meta')), 0);
      }));

    test('stored state cannot be changed through the objects passed in or handed out', () =>
      withStore(async (store) => {
        const original: Item = { id: 'v', n: 1, tags: ['a'] };
        await store.transact((tx) => tx.put('agents', 'v', original));
        // The put took the object over (stored-json.ts): changing it throws, or else changes nothing stored.
        tryMutate(() => {
          original.n = 99;
        });
        tryMutate(() => original.tags!.push('mutated'));

        const got = await store.read((tx) => tx.get<Item>('agents', 'v'));
        assert.deepEqual(got, { id: 'v', n: 1, tags: ['a'] });
        tryMutate(() => {
          got!.n = 7;
        });
        tryMutate(() => got!.tags!.push('x'));
        const listed = await store.read((tx) => tx.list<Item>('agents'));
        tryMutate(() => {
          listed[0]!.n = 8;
        });
        listed.pop(); // the array itself is the caller's own
        const inTx = await store.transact((tx) => tx.get<Item>('agents', 'v'));
        tryMutate(() => {
          inTx!.n = 9;
        });
        assert.deepEqual(await store.read((tx) => tx.get('agents', 'v')), { id: 'v', n: 1, tags: ['a'] });
        assert.equal(await store.read((tx) => tx.list('agents').length), 1);
      }));

    test('a transaction handle is dead after its function returns', () =>
      withStore(async (store) => {
        let leaked: { put(c: 'agents', id: string, v: unknown): void } | undefined;
        await store.transact((tx) => {
          leaked = tx;
        });
        assert.throws(() => leaked!.put('agents', 'late', { id: 'late', n: 1 }));
        assert.equal(await store.read((tx) => tx.count('agents')), 0);
      }));

    test('concurrent transactions all resolve and all apply, in call order', () =>
      withStore(async (store) => {
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            store.transact((tx) => {
              const counter = tx.get<number>('meta', 'counter') ?? 0;
              tx.put('meta', 'counter', counter + 1);
              tx.put('tasks', `t${i}`, { id: `t${i}`, n: i });
              return counter;
            }),
          ),
        );
        assert.deepEqual(results, Array.from({ length: 100 }, (_, i) => i), 'each saw the previous one');
        assert.equal(await store.read((tx) => tx.get('meta', 'counter')), 100);
        const ids = await store.read((tx) => tx.list<Item>('tasks').map((t) => t.n));
        assert.deepEqual(ids, Array.from({ length: 100 }, (_, i) => i));
      }));

    test('read sees writes committed before it, even ones not yet awaited', () =>
      withStore(async (store) => {
        const write = store.transact((tx) => tx.put('agents', 'r', { id: 'r', n: 1 }));
        const read = store.read((tx) => tx.get<Item>('agents', 'r'));
        assert.deepEqual(await read, { id: 'r', n: 1 });
        await write;
      }));

    test('a throwing read rejects with its error', () =>
      withStore(async (store) => {
        const boom = new Error('read boom');
        await assert.rejects(
          store.read(() => {
            throw boom;
          }),
          (err) => err === boom,
        );
      }));

    test('close is idempotent and later calls reject', () =>
      withStore(async (store) => {
        await store.transact((tx) => tx.put('agents', 'c', { id: 'c', n: 1 }));
        await Promise.all([store.close(), store.close()]);
        await store.close();
        await assert.rejects(store.transact((tx) => tx.put('agents', 'd', {})));
        await assert.rejects(store.read((tx) => tx.count('agents')));
      }));
  });
}

/** Mutating a stored value must either throw (frozen) or leave the store unchanged (a copy). */
function tryMutate(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TypeError, 'only a frozen-object TypeError is acceptable');
  }
}
