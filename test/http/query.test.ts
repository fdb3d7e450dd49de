// The query-carried input of an operation: converted from strings by the
// field's schema and checked before the body is read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readQuery } from '../../src/http/query.js';
import { pageFields } from '../../src/operations/town-schemas.js';

const PAGE = new Map(Object.entries(pageFields));

test('page query: at most 1000, integers only, absent means the default', () => {
  assert.deepEqual({ ...readQuery(PAGE, new URLSearchParams('')).values }, {});
  assert.deepEqual({ ...readQuery(PAGE, new URLSearchParams('limit=1000&cursor=abc')).values }, { limit: 1000, cursor: 'abc' });
  assert.equal(readQuery(PAGE, new URLSearchParams('limit=1')).values['limit'], 1);
  for (const bad of ['1001', '0', '-1', 'ten', '1.5', '', '99999999999']) {
    const { errors } = readQuery(PAGE, new URLSearchParams({ limit: bad }));
    assert.deepEqual(errors.map((e) => e.pointer), ['/limit'], bad);
  }
});

test('a parameter given twice is refused; undeclared ones are ignored', () => {
  assert.deepEqual(readQuery(PAGE, new URLSearchParams('limit=1&limit=2')).errors, [{ pointer: '/limit', message: 'must be given at most once' }]);
  assert.deepEqual(readQuery(PAGE, new URLSearchParams('_=123')).errors, []);
});
