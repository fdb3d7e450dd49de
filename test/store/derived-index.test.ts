// Derived indexes must always say what a full scan would say: after any mix
// of puts and deletes (committed or seen from inside a transaction), each
// bucket lists exactly the records a scan finds, in key order, and counts them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defineIndex, type IndexView } from '../../src/store/derived-index.js';
import { createMemoryState } from '../../src/store/memory-state.js';
import { SortedEntries, compareKeys, type SortKey } from '../../src/store/sorted-entries.js';
import type { ReadTx } from '../../src/store/store.js';

interface Item {
  group: number;
  rank: number;
  flag: boolean;
}

const BY_GROUP = defineIndex<Item>({
  name: 'test',
  collection: 'tasks',
  buckets: (v) => (v.flag ? [`g${v.group}`, 'flagged'] : [`g${v.group}`]),
  key: (v) => [v.flag ? 0 : 1, v.rank],
});

const BUCKETS = ['g0', 'g1', 'g2', 'flagged', 'none'];

/** What a scan says a bucket holds, in index order. */
function scanned(tx: ReadTx, bucket: string): Array<[string, SortKey]> {
  const ids = tx.ids('tasks');
  const out: Array<[string, SortKey]> = [];
  tx.list<Item>('tasks').forEach((v, i) => {
    if (BY_GROUP.buckets(v).includes(bucket)) out.push([ids[i] as string, BY_GROUP.key(v)]);
  });
  return out.sort((a, b) => compareKeys(a[1], b[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function indexed(view: IndexView<Item>, bucket: string, after: SortKey | null = null): Array<[string, SortKey]> {
  return Array.from(view.entries(bucket, after), (e) => [e.id, e.key]);
}

function assertAgrees(tx: ReadTx): void {
  const view = tx.index(BY_GROUP);
  for (const bucket of BUCKETS) {
    const expected = scanned(tx, bucket);
    assert.deepEqual(indexed(view, bucket), expected, bucket);
    assert.equal(view.count(bucket), expected.length, `count of ${bucket}`);
    const middle = expected[Math.floor(expected.length / 2)];
    if (middle !== undefined) {
      assert.deepEqual(
        indexed(view, bucket, middle[1]),
        expected.filter(([, k]) => compareKeys(k, middle[1]) > 0),
        `${bucket} after a key`,
      );
    }
  }
}

type Op = { kind: 'put'; id: number; item: Item } | { kind: 'delete'; id: number };

const itemArb = fc.record({ group: fc.integer({ min: 0, max: 2 }), rank: fc.integer({ min: 0, max: 20 }), flag: fc.boolean() });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), id: fc.integer({ min: 0, max: 30 }), item: itemArb }),
  fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 30 }) }),
);

test('committed index agrees with a scan after any puts and deletes, built early or late', () => {
  fc.assert(
    fc.property(fc.array(fc.array(opArb, { maxLength: 6 }), { maxLength: 25 }), fc.integer({ min: 0, max: 25 }), (batches, buildAt) => {
      const state = createMemoryState();
      batches.forEach((batch, i) => {
        if (i === buildAt) state.view.index(BY_GROUP); // the index exists from here on and must be kept up to date
        const { ops } = state.run((tx) => {
          for (const op of batch) {
            if (op.kind === 'put') tx.put('tasks', `t${op.id}`, op.item);
            else tx.delete('tasks', `t${op.id}`);
          }
        });
        state.apply(ops);
      });
      assertAgrees(state.view);
    }),
    { numRuns: 300 },
  );
});

test("a transaction's view merges its own writes into the committed index", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), fc.array(opArb, { maxLength: 10 }), (committed, mine) => {
      const state = createMemoryState();
      state.view.index(BY_GROUP);
      state.apply(
        state.run((tx) => {
          for (const op of committed) {
            if (op.kind === 'put') tx.put('tasks', `t${op.id}`, op.item);
            else tx.delete('tasks', `t${op.id}`);
          }
        }).ops,
      );
      state.run((tx) => {
        for (const op of mine) {
          if (op.kind === 'put') tx.put('tasks', `t${op.id}`, op.item);
          else tx.delete('tasks', `t${op.id}`);
          assertAgrees(tx);
        }
      });
      // The transaction's writes never reach the committed index until applied.
      assertAgrees(state.view);
    }),
    { numRuns: 200 },
  );
});

test('a transaction that writes while it walks a bucket sees the bucket as it was when it asked', () => {
  const state = createMemoryState();
  state.apply(state.run((tx) => ['a', 'b', 'c'].forEach((id, i) => tx.put('tasks', id, { group: 0, rank: i, flag: false }))).ops);
  const seen: string[] = [];
  state.run((tx) => {
    for (const e of tx.index(BY_GROUP).entries('g0')) {
      seen.push(e.id);
      tx.put('tasks', e.id, { group: 1, rank: e.value.rank, flag: false }); // moves it out of g0
      tx.put('tasks', `new-${e.id}`, { group: 0, rank: 100, flag: false }); // would join g0 at the end
    }
  });
  assert.deepEqual(seen, ['a', 'b', 'c']);
});

test('a number key sorts as its one-element tuple, against numbers and tuples alike', () => {
  const sign = (n: number): number => Math.sign(n);
  assert.equal(compareKeys(1, 2), -1);
  assert.equal(sign(compareKeys(5, [5])), 0);
  assert.equal(sign(compareKeys([5], 5)), 0);
  assert.equal(sign(compareKeys(5, [5, 0])), -1, 'a shorter tuple first');
  assert.equal(sign(compareKeys([4, 9], 5)), -1);
  assert.equal(sign(compareKeys(6, [5, 9])), 1);
  // A list keyed by numbers pages with a tuple cursor, as decodeCursor gives.
  const list = SortedEntries.from([3, 1, 2].map((n) => ({ key: n, id: `i${n}`, value: n })));
  assert.deepEqual(Array.from(list.after([1]), (e) => e.id), ['i2', 'i3']);
});

test('SortedEntries keeps order across chunk splits, removals and iteration during change', () => {
  const list = new SortedEntries<number>();
  const keys: number[] = [];
  for (let i = 0; i < 5000; i++) keys.push((i * 7919) % 5003);
  for (const k of keys) list.insert({ key: [k], id: `i${k}`, value: k });
  assert.equal(list.size, 5000);
  const sorted = [...keys].sort((a, b) => a - b);
  assert.deepEqual(Array.from(list.after(null), (e) => e.value), sorted);
  for (const k of sorted.filter((k) => k % 3 === 0)) assert.ok(list.remove([k], `i${k}`));
  assert.equal(list.remove([1], 'missing'), false);
  const left = sorted.filter((k) => k % 3 !== 0);
  assert.deepEqual(Array.from(list.after(null), (e) => e.value), left);
  assert.deepEqual(Array.from(list.after([2500]), (e) => e.value), left.filter((k) => k > 2500));
  // Removing entries ahead of and behind a live iterator neither repeats nor skips the rest.
  const out: number[] = [];
  for (const e of list.after(null)) {
    out.push(e.value);
    if (e.value === 1000) {
      list.remove([1], 'i1');
      list.remove([1004], 'i1004');
      list.insert({ key: [999.5], id: 'x', value: 999.5 });
    }
  }
  assert.deepEqual(
    out,
    left.filter((k) => k !== 1004),
  );
  const built = SortedEntries.from(left.map((k) => ({ key: [k], id: `i${k}`, value: k })).reverse());
  assert.deepEqual(Array.from(built.after([10]), (e) => e.value), left.filter((k) => k > 10));
});
