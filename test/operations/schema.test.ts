// validate(): each schema type, JSON Pointers to the offending value, and
// RFC 6901 escaping of "~" and "/" in keys.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toJsonSchema, validate, withoutNulls, type Schema } from '../../src/operations/schema.js';

describe('string', () => {
  test('type', () => {
    assert.deepEqual(validate({ type: 'string' }, 'x'), []);
    assert.deepEqual(validate({ type: 'string' }, 5), [{ pointer: '/', message: 'must be a string' }]);
    assert.deepEqual(validate({ type: 'string' }, null), [{ pointer: '/', message: 'must be a string' }]);
  });

  test('minLength and maxLength', () => {
    const s: Schema = { type: 'string', minLength: 2, maxLength: 4 };
    assert.deepEqual(validate(s, 'ab'), []);
    assert.deepEqual(validate(s, 'abcd'), []);
    assert.deepEqual(validate(s, 'a'), [{ pointer: '/', message: 'must be at least 2 characters' }]);
    assert.deepEqual(validate(s, 'abcde'), [{ pointer: '/', message: 'must be at most 4 characters' }]);
  });

  test('maxBytes counts UTF-8 bytes, not characters', () => {
    const s: Schema = { type: 'string', maxBytes: 3 };
    assert.deepEqual(validate(s, 'abc'), []);
    assert.deepEqual(validate(s, 'é'), []); // 2 bytes
    assert.deepEqual(validate(s, 'éé'), [{ pointer: '/', message: 'must be at most 3 bytes' }]); // 2 chars, 4 bytes
    assert.deepEqual(validate(s, '€'), []); // 3 bytes
    assert.deepEqual(validate(s, 'a€'), [{ pointer: '/', message: 'must be at most 3 bytes' }]);
  });

  test('pattern', () => {
    const s: Schema = { type: 'string', pattern: '^[a-z]+$' };
    assert.deepEqual(validate(s, 'abc'), []);
    assert.deepEqual(validate(s, 'aBc'), [{ pointer: '/', message: 'must match ^[a-z]+$' }]);
  });

  test('enum', () => {
    const s: Schema = { type: 'string', enum: ['low', 'high'] };
    assert.deepEqual(validate(s, 'high'), []);
    assert.deepEqual(validate(s, 'HIGH'), [{ pointer: '/', message: 'must be one of: low, high' }]);
  });

  test('several string problems are all reported', () => {
    const errors = validate({ type: 'string', maxLength: 2, pattern: '^[0-9]+$' }, 'abc');
    assert.deepEqual(errors.map((e) => e.message), ['must be at most 2 characters', 'must match ^[0-9]+$']);
  });
});

describe('integer', () => {
  const s: Schema = { type: 'integer', minimum: 1, maximum: 10 };

  test('bounds are inclusive', () => {
    assert.deepEqual(validate(s, 1), []);
    assert.deepEqual(validate(s, 10), []);
    assert.deepEqual(validate(s, 0), [{ pointer: '/', message: 'must be at least 1' }]);
    assert.deepEqual(validate(s, 11), [{ pointer: '/', message: 'must be at most 10' }]);
  });

  test('non-integers are refused', () => {
    for (const v of [1.5, '5', NaN, Infinity, 2 ** 53, null, true]) {
      assert.deepEqual(validate({ type: 'integer' }, v), [{ pointer: '/', message: 'must be an integer' }], String(v));
    }
  });

  test('negative integers and zero without bounds', () => {
    assert.deepEqual(validate({ type: 'integer' }, -3), []);
    assert.deepEqual(validate({ type: 'integer' }, 0), []);
  });
});

describe('boolean', () => {
  test('only true and false', () => {
    assert.deepEqual(validate({ type: 'boolean' }, false), []);
    assert.deepEqual(validate({ type: 'boolean' }, 'true'), [{ pointer: '/', message: 'must be a boolean' }]);
    assert.deepEqual(validate({ type: 'boolean' }, 0), [{ pointer: '/', message: 'must be a boolean' }]);
  });
});

describe('array', () => {
  const tags: Schema = { type: 'array', items: { type: 'string', maxLength: 3 }, maxItems: 5 };

  test('items are validated with their index in the pointer', () => {
    assert.deepEqual(validate(tags, ['a', 'b', 'c', 'toolong']), [{ pointer: '/3', message: 'must be at most 3 characters' }]);
  });

  test('maxItems', () => {
    assert.deepEqual(validate(tags, ['a', 'b', 'c', 'd', 'e']), []);
    assert.deepEqual(validate(tags, ['a', 'b', 'c', 'd', 'e', 'f']), [{ pointer: '/', message: 'must have at most 5 items' }]);
  });

  test('not an array', () => {
    assert.deepEqual(validate(tags, 'a,b'), [{ pointer: '/', message: 'must be an array' }]);
    assert.deepEqual(validate(tags, { 0: 'a', length: 1 }), [{ pointer: '/', message: 'must be an array' }]);
  });

  test('every bad item is reported', () => {
    assert.deepEqual(validate({ type: 'array', items: { type: 'integer' } }, [1, 'x', 3, null]), [
      { pointer: '/1', message: 'must be an integer' },
      { pointer: '/3', message: 'must be an integer' },
    ]);
  });
});

describe('object', () => {
  const agent: Schema = {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 8 },
      tags: { type: 'array', items: { type: 'string', enum: ['a', 'b'] }, maxItems: 4 },
      priority: { type: 'integer', minimum: 0, maximum: 9 },
      owner: {
        type: 'object',
        properties: { name: { type: 'string' }, email: { type: 'string', pattern: '^[^@]+@[^@]+$' } },
        required: ['name'],
      },
    },
    required: ['name'],
  };

  test('a valid object', () => {
    assert.deepEqual(validate(agent, { name: 'ada', tags: ['a'], priority: 3, owner: { name: 'x', email: 'x@y' } }), []);
  });

  test('a missing required field points at it', () => {
    assert.deepEqual(validate(agent, {}), [{ pointer: '/name', message: 'is required' }]);
  });

  test('null counts as missing for a required field', () => {
    const errors = validate(agent, { name: null });
    assert.deepEqual(errors[0], { pointer: '/name', message: 'is required' });
    // (It is also reported as the wrong type; every error points at /name.)
    assert.ok(errors.every((e) => e.pointer === '/name'));
  });

  test('null is accepted for an optional field', () => {
    assert.deepEqual(validate(agent, { name: 'ada', priority: null }), []);
  });

  test('an unknown field is rejected', () => {
    assert.deepEqual(validate(agent, { name: 'ada', admin: true }), [{ pointer: '/admin', message: 'is not a known field' }]);
  });

  test('inherited names are not known fields', () => {
    const parsed = JSON.parse('{"name":"ada","__proto__":{"x":1},"constructor":1,"toString":"x"}') as unknown;
    assert.deepEqual(validate(agent, parsed), [
      { pointer: '/__proto__', message: 'is not a known field' },
      { pointer: '/constructor', message: 'is not a known field' },
      { pointer: '/toString', message: 'is not a known field' },
    ]);
  });

  test('pointers into arrays inside objects: /tags/3', () => {
    assert.deepEqual(validate(agent, { name: 'ada', tags: ['a', 'b', 'a', 'z'] }), [{ pointer: '/tags/3', message: 'must be one of: a, b' }]);
  });

  test('nested objects: /owner/email and /owner/name', () => {
    assert.deepEqual(validate(agent, { name: 'ada', owner: { email: 'nope' } }), [
      { pointer: '/owner/name', message: 'is required' },
      { pointer: '/owner/email', message: 'must match ^[^@]+@[^@]+$' },
    ]);
  });

  test('all problems at once, in a stable order', () => {
    assert.deepEqual(validate(agent, { name: '', tags: ['a', 'a', 'a', 'a', 'a'], priority: 10, extra: 1 }), [
      { pointer: '/name', message: 'must be at least 1 characters' },
      { pointer: '/tags', message: 'must have at most 4 items' },
      { pointer: '/priority', message: 'must be at most 9' },
      { pointer: '/extra', message: 'is not a known field' },
    ]);
  });

  test('not an object', () => {
    for (const v of [null, [], 'x', 1]) {
      assert.deepEqual(validate(agent, v), [{ pointer: '/', message: 'must be an object' }], JSON.stringify(v));
    }
    assert.deepEqual(validate(agent, { name: 'ada', owner: [] }), [{ pointer: '/owner', message: 'must be an object' }]);
  });

  test('"~" and "/" in keys are escaped as ~0 and ~1', () => {
    const s: Schema = { type: 'object', properties: { 'a/b': { type: 'integer' }, 'm~n': { type: 'integer' } }, required: ['a/b'] };
    assert.deepEqual(validate(s, { 'm~n': 'x' }), [
      { pointer: '/a~1b', message: 'is required' },
      { pointer: '/m~0n', message: 'must be an integer' },
    ]);
    assert.deepEqual(validate(s, { 'a/b': 1, 'x~1/y': 1 }), [{ pointer: '/x~01~1y', message: 'is not a known field' }]);
  });

  test('escaping applies at every depth', () => {
    const s: Schema = { type: 'object', properties: { 'o/k': { type: 'object', properties: { 't~': { type: 'array', items: { type: 'boolean' } } } } } };
    assert.deepEqual(validate(s, { 'o/k': { 't~': [true, 'no'] } }), [{ pointer: '/o~1k/t~0/1', message: 'must be a boolean' }]);
  });
});

describe('toJsonSchema', () => {
  test('drops maxBytes into the description and forbids additional properties', () => {
    const out = toJsonSchema({ type: 'object', properties: { t: { type: 'string', maxBytes: 10, description: 'Text.' } } });
    assert.equal(out['additionalProperties'], false);
    const t = (out['properties'] as Record<string, Record<string, unknown>>)['t']!;
    assert.equal(t['maxBytes'], undefined);
    assert.equal(t['description'], 'Text. At most 10 bytes of UTF-8.');
  });
});

describe('withoutNulls', () => {
  test('null and undefined members are left out of a copy; an input without any is passed through', () => {
    const input = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: null, c: undefined, d: 'x' });
    const out = withoutNulls(input);
    assert.deepEqual(Object.keys(out), ['a', 'd']);
    assert.equal(Object.getPrototypeOf(out), null);
    assert.equal(input['b'], null, 'the input itself is not changed');
    const clean = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, d: 'x' });
    assert.equal(withoutNulls(clean), clean);
    assert.deepEqual(Object.keys(withoutNulls(undefined)), []);
  });
});
