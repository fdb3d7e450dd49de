// createRouter with small fake route tables: start-up mistakes throw, static
// beats param, 405 allow lists, HEAD, and decoding each segment exactly once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Method, RouteDef } from '../../src/http/route.js';
import { createRouter, MAX_PARAM_LENGTH, type RouteMatch } from '../../src/http/router.js';

function route(method: Method, path: string): RouteDef {
  return { kind: 'raw', method, path, access: 'public', summary: `${method} ${path}`, success: { 200: 'ok' }, handler: () => ({ status: 200 }) };
}

function found(m: RouteMatch): { route: RouteDef; params: Record<string, string> } {
  assert.equal(m.kind, 'found', `expected a match, got ${JSON.stringify(m)}`);
  return m as Extract<RouteMatch, { kind: 'found' }>;
}

function allowOf(m: RouteMatch): string[] {
  assert.equal(m.kind, 'method_not_allowed', `expected 405, got ${JSON.stringify(m)}`);
  return [...(m as Extract<RouteMatch, { kind: 'method_not_allowed' }>).allow].sort();
}

describe('start-up checks', () => {
  test('a route registered twice throws at construction', () => {
    assert.throws(() => createRouter([route('GET', '/v1/tasks'), route('GET', '/v1/tasks')]), /route registered twice: GET \/v1\/tasks/);
  });

  test('the same path with two methods is fine', () => {
    assert.doesNotThrow(() => createRouter([route('GET', '/v1/tasks'), route('POST', '/v1/tasks')]));
  });

  test('the same pattern registered twice with different param names also throws', () => {
    assert.throws(() => createRouter([route('GET', '/v1/tasks/{id}'), route('DELETE', '/v1/tasks/{task_id}')]), /conflicting parameter names \{id\} and \{task_id\}/);
  });

  test('conflicting param names at the same position throw', () => {
    assert.throws(
      () => createRouter([route('GET', '/v1/agents/{agent}/inbox'), route('POST', '/v1/agents/{name}/kill')]),
      /conflicting parameter names \{agent\} and \{name\} in \/v1\/agents\/\{name\}\/kill/,
    );
  });

  test('a path without a leading slash throws', () => {
    assert.throws(() => createRouter([route('GET', 'v1/tasks')]), /must start with "\/"/);
  });

  test('a malformed param segment throws', () => {
    assert.throws(() => createRouter([route('GET', '/v1/tasks/{id')]), /malformed path segment/);
    assert.throws(() => createRouter([route('GET', '/v1/tasks/x{id}')]), /malformed path segment/);
  });
});

describe('matching', () => {
  const router = createRouter([
    route('GET', '/v1/tasks'),
    route('GET', '/v1/tasks/{id}'),
    route('GET', '/v1/tasks/pending'),
    route('POST', '/v1/tasks/{id}/start'),
    route('POST', '/v1/backlog/assign-all'),
    route('DELETE', '/v1/backlog/{task_id}'),
    route('GET', '/v1/agents/{agent}/inbox'),
    route('POST', '/v1/agents/{agent}/inbox'),
    route('POST', '/v1/agents'),
    route('GET', '/files/{name}'),
  ]);

  test('static beats param, whatever the registration order', () => {
    const m = found(router.match('GET', '/v1/tasks/pending'));
    assert.equal(m.route.path, '/v1/tasks/pending');
    assert.equal(Object.keys(m.params).length, 0);
    const p = found(router.match('GET', '/v1/tasks/abc'));
    assert.equal(p.route.path, '/v1/tasks/{id}');
    assert.equal(p.params['id'], 'abc');
  });

  test('params deeper in the path are captured', () => {
    const m = found(router.match('POST', '/v1/tasks/t-42/start'));
    assert.equal(m.route.path, '/v1/tasks/{id}/start');
    assert.deepEqual({ ...m.params }, { id: 't-42' });
  });

  test('a static node lacking the method falls back to a param route that has it', () => {
    const m = found(router.match('DELETE', '/v1/backlog/assign-all'));
    assert.equal(m.route.path, '/v1/backlog/{task_id}');
    assert.equal(m.params['task_id'], 'assign-all');
    assert.equal(found(router.match('POST', '/v1/backlog/assign-all')).route.path, '/v1/backlog/assign-all');
  });

  test('405 lists the allowed methods; GET implies HEAD', () => {
    assert.deepEqual(allowOf(router.match('PUT', '/v1/agents/a/inbox')), ['GET', 'HEAD', 'POST']);
    assert.deepEqual(allowOf(router.match('DELETE', '/v1/tasks')), ['GET', 'HEAD']);
  });

  test('405 for a POST-only route does not offer HEAD', () => {
    assert.deepEqual(allowOf(router.match('GET', '/v1/agents')), ['POST']);
    assert.deepEqual(allowOf(router.match('HEAD', '/v1/agents')), ['POST']);
  });

  test(
    '405 Allow includes the methods of a param route that also matches the path',
    () => {
      assert.deepEqual(allowOf(router.match('PUT', '/v1/backlog/assign-all')), ['DELETE', 'POST']);
    },
  );

  test('HEAD matches GET routes', () => {
    const m = found(router.match('HEAD', '/v1/tasks/pending'));
    assert.equal(m.route.method, 'GET');
    assert.equal(m.route.path, '/v1/tasks/pending');
    assert.equal(found(router.match('HEAD', '/v1/tasks/x')).params['id'], 'x');
  });

  test('an unknown path is not_found; an unknown method on a known path is 405', () => {
    assert.deepEqual(router.match('GET', '/v2/tasks'), { kind: 'not_found' });
    assert.deepEqual(router.match('GET', '/v1/tasks/a/b'), { kind: 'not_found' });
    assert.equal(router.match('OPTIONS', '/v1/tasks').kind, 'method_not_allowed');
  });

  test('a trailing slash does not match', () => {
    assert.deepEqual(router.match('GET', '/v1/tasks/'), { kind: 'not_found' });
    assert.deepEqual(router.match('GET', '/v1/tasks/pending/'), { kind: 'not_found' });
    assert.deepEqual(router.match('POST', '/v1/agents/'), { kind: 'not_found' });
  });

  test('an empty segment never fills a param', () => {
    assert.deepEqual(router.match('POST', '/v1/tasks//start'), { kind: 'not_found' });
  });

  test('paths are case-sensitive', () => {
    assert.deepEqual(router.match('GET', '/V1/tasks'), { kind: 'not_found' });
  });
});

describe('decoding', () => {
  const router = createRouter([route('GET', '/files/{name}'), route('GET', '/files/{name}/meta'), route('GET', '/a b')]);

  test('%2F stays inside one param, decoded once', () => {
    const m = found(router.match('GET', '/files/a%2Fb'));
    assert.equal(m.route.path, '/files/{name}');
    assert.equal(m.params['name'], 'a/b');
    assert.equal(found(router.match('GET', '/files/a%2fb/meta')).params['name'], 'a/b');
  });

  test('a raw slash splits segments', () => {
    assert.deepEqual(router.match('GET', '/files/a/b'), { kind: 'not_found' });
  });

  test('%252F decodes once to %2F', () => {
    assert.equal(found(router.match('GET', '/files/%252F')).params['name'], '%2F');
    assert.equal(found(router.match('GET', '/files/a%2525b')).params['name'], 'a%25b');
  });

  test('UTF-8 percent-encoding is decoded', () => {
    assert.equal(found(router.match('GET', '/files/caf%C3%A9')).params['name'], 'café');
  });

  test('static segments are decoded too', () => {
    assert.equal(found(router.match('GET', '/a%20b')).route.path, '/a b');
  });

  for (const bad of ['/files/%E0%A4%A', '/files/%', '/files/%ZZ', '/files/%C3', '/files/%FF']) {
    test(`malformed percent-encoding ${bad} is bad_path`, () => {
      assert.deepEqual(router.match('GET', bad), { kind: 'bad_path' });
    });
  }

  test('malformed encoding in a segment that matches no route is still bad_path', () => {
    assert.deepEqual(router.match('GET', '/nowhere/%E0%A4%A'), { kind: 'bad_path' });
  });

  test(`a segment over ${MAX_PARAM_LENGTH} characters is bad_path; exactly ${MAX_PARAM_LENGTH} is fine`, () => {
    assert.equal(found(router.match('GET', `/files/${'a'.repeat(MAX_PARAM_LENGTH)}`)).params['name']!.length, MAX_PARAM_LENGTH);
    assert.deepEqual(router.match('GET', `/files/${'a'.repeat(MAX_PARAM_LENGTH + 1)}`), { kind: 'bad_path' });
  });

  test('the segment length limit applies after decoding', () => {
    // 512 decoded characters written as %41 (3 bytes each) is fine.
    assert.equal(found(router.match('GET', `/files/${'%41'.repeat(MAX_PARAM_LENGTH)}`)).params['name'], 'A'.repeat(MAX_PARAM_LENGTH));
  });

  test('a path with very many segments is not_found', () => {
    assert.deepEqual(router.match('GET', '/files' + '/x'.repeat(100)), { kind: 'not_found' });
  });
});

describe('params object', () => {
  const router = createRouter([route('GET', '/files/{name}'), route('GET', '/proto/{__proto__}')]);

  test('params have a null prototype', () => {
    const m = found(router.match('GET', '/files/x'));
    assert.equal(Object.getPrototypeOf(m.params), null);
    assert.deepEqual(Object.keys(m.params), ['name']);
  });

  test('"__proto__" as a param value is just a string', () => {
    const m = found(router.match('GET', '/files/__proto__'));
    assert.equal(m.params['name'], '__proto__');
    assert.equal(Object.getPrototypeOf(m.params), null);
    assert.equal(({} as Record<string, unknown>)['name'], undefined, 'Object.prototype untouched');
  });

  test('"constructor" and "toString" values are own strings', () => {
    assert.equal(found(router.match('GET', '/files/constructor')).params['name'], 'constructor');
    assert.equal(found(router.match('GET', '/files/toString')).params['name'], 'toString');
  });

  test('a param named __proto__ becomes an own property, not the prototype', () => {
    const m = found(router.match('GET', '/proto/evil'));
    assert.ok(Object.hasOwn(m.params, '__proto__'));
    assert.equal(m.params['__proto__'], 'evil');
    assert.equal(Object.getPrototypeOf(m.params), null);
  });
});
