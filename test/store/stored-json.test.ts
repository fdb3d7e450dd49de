// storedJson must store exactly what a JSON round trip would (that is what the
// journal replays), deep-frozen, whichever of its two paths a value takes:
// plain data is kept and frozen in place, anything else is copied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storedJson } from '../../src/store/stored-json.js';
import { createMemoryState } from '../../src/store/memory-state.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: [true, null] });

const CASES: [string, unknown][] = [
  ['a task record', { id: 't1', description: 'd', tags: ['x', 'y'], state: 'pending', assigned_to: null, seq: 3, nested: { a: [1, { b: 'c' }] } }],
  ['a number', 42],
  ['a string with a newline and a lone surrogate', 'a\nb\ud800'],
  ['null', null],
  ['integer-like keys', { 2: 'two', b: 'b', 1: 'one' }],
  ['-0 and floats', { z: -0, f: 1.5e300, n: [-0] }],
  ['NaN and Infinity', { n: NaN, i: [Infinity, -Infinity] }],
  ['undefined and functions in an object', { u: undefined, f: () => 1, keep: 1 }],
  ['undefined, functions and a hole in an array', [undefined, () => 1, , 3]], // eslint-disable-line no-sparse-arrays
  ['a Date', { at: new Date(0) }],
  ['a toJSON method', { v: { toJSON: () => 'custom' } }],
  ['a class instance', { p: new Point(1, 2) }],
  ['a Map', { m: new Map([[1, 2]]) }],
  ['a boxed string', { s: new String('boxed') }], // eslint-disable-line no-new-wrappers
  ['a null-prototype object', nullProto],
  ['a __proto__ key', JSON.parse('{"__proto__":{"polluted":true},"x":1}') as unknown],
  ['an array with extra properties', Object.assign([1, 2], { extra: 'ignored' })],
  ['deep nesting', JSON.parse(`${'['.repeat(200)}1${']'.repeat(200)}`) as unknown],
];

// Whether each case is plain data, kept as it is, rather than copied.
const KEPT = new Set(['a task record', 'a number', 'a string with a newline and a lone surrogate', 'null', 'integer-like keys', 'a __proto__ key']);

for (const [name, value] of CASES) {
  test(`storedJson matches a JSON round trip: ${name}`, () => {
    const expectedJson = JSON.stringify(value);
    const { value: stored, json } = storedJson(value);
    assert.equal(json, expectedJson);
    assert.deepStrictEqual(stored, JSON.parse(expectedJson));
    assert.equal(JSON.stringify(stored), json);
    assertDeepFrozen(stored);
    if (typeof value === 'object' && value !== null) assert.equal(stored === value, KEPT.has(name), KEPT.has(name) ? 'kept' : 'copied');
  });
}

test('plain data is kept and frozen in place, nested parts included: no copy', () => {
  const tags = ['a'];
  const task = { id: 't', tags, state: 'pending', meta: { n: 1, seen: [true, null] } };
  const { value } = storedJson(task);
  assert.equal(value, task);
  assert.equal((value as typeof task).tags, tags);
  assertDeepFrozen(task);
});

test('a value with a part JSON would change is copied whole, the caller keeping its object', () => {
  const task = { id: 't', tags: ['a'], at: new Date(0) };
  const { value } = storedJson(task);
  assert.notEqual(value, task);
  assert.equal((value as { at: string }).at, '1970-01-01T00:00:00.000Z');
  assertDeepFrozen(value);
  // The Date makes it not plain: the caller's object is not frozen at its top (its tags array, walked first, is).
  assert.equal(Object.isFrozen(task), false);
  task.at = new Date(1);
});

test('storedJson keeps -0 out of stored state, as JSON does', () => {
  const { value } = storedJson({ z: -0 });
  assert.ok(Object.is((value as { z: number }).z, 0));
});

test('a __proto__ key stays a plain property, never the prototype', () => {
  const { value } = storedJson(JSON.parse('{"__proto__":{"polluted":true}}'));
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  assert.deepStrictEqual(Object.keys(value as object), ['__proto__']);
});

test('values without a JSON form throw the TypeError a put reports', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  assert.throws(() => storedJson(cyclic), TypeError);
  assert.throws(() => storedJson({ big: 1n }), TypeError);
  assert.throws(() => storedJson(undefined), /JSON-serialisable/);
  assert.throws(() => storedJson(() => 1), /JSON-serialisable/);
});

test('a put takes the value over: the caller changing its object later throws and changes nothing', () => {
  const state = createMemoryState();
  const task = { id: 't', tags: ['a'], meta: { n: 1 } };
  state.apply(state.run((tx) => tx.put('tasks', 't', task)).ops);
  assert.throws(() => task.tags.push('b'), TypeError);
  assert.throws(() => {
    task.meta.n = 2;
  }, TypeError);
  const stored = state.view.get<typeof task>('tasks', 't')!;
  assert.deepStrictEqual(stored, { id: 't', tags: ['a'], meta: { n: 1 } });
  assert.throws(() => stored.tags.push('c'), TypeError);
  assert.ok(Object.isFrozen(stored.meta));
});

function assertDeepFrozen(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  assert.ok(Object.isFrozen(value), 'every level is frozen');
  for (const child of Object.values(value)) assertDeepFrozen(child);
}
