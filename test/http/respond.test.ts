// The one place errors become problem responses: unknown errors are a fixed
// 500 with nothing of theirs; a failed store is a 503 with Retry-After.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpError } from '../../src/errors.js';
import { HttpError, toHttpError } from '../../src/http/http-errors.js';
import { StoreUnavailableError } from '../../src/store/store-errors.js';

test('a failed store becomes store.unavailable (503, Retry-After), without the cause text', () => {
  const e = toHttpError(new StoreUnavailableError('failed', 'journal write failed on /secret/path/journal.log (EIO)'));
  assert.equal(e.code, 'store.unavailable');
  assert.equal(e.status, 503);
  assert.equal(e.extras.retry_after_secs, 30);
  assert.doesNotMatch(e.detail, /secret|EIO/);
});

test('an unknown error becomes a fixed 500 that says nothing of it', () => {
  const e = toHttpError(new Error('password=hunter2 at /srv/x'));
  assert.equal(e.code, 'server.internal');
  assert.equal(e.status, 500);
  assert.doesNotMatch(e.detail, /hunter2|srv/);
});

test('an HttpError passes through unchanged', () => {
  const original = new HttpError('town.task_state', 'no', { current_state: 'running' });
  assert.equal(toHttpError(original), original);
});

test('operation codes map to the problems REST clients already know', () => {
  const e = toHttpError(new OpError('agent.not_found', 'No agent "x" in this town.'));
  assert.deepEqual([e.code, e.status, e.detail], ['town.agent_not_found', 404, 'No agent "x" in this town.']);
  assert.equal(toHttpError(new OpError('task.state_conflict', 'no', { current_state: 'running' })).extras.current_state, 'running');
});

test('invalid input is query.invalid when every bad field came from the query, else body.invalid', () => {
  const q = new Set(['limit', 'cursor']);
  const inQuery = new OpError('input.invalid', 'x', { errors: [{ pointer: '/limit', message: 'must be at most 1000' }] });
  assert.equal(toHttpError(inQuery, q).code, 'query.invalid');
  const mixed = new OpError('input.invalid', 'x', { errors: [{ pointer: '/limit', message: 'm' }, { pointer: '/name', message: 'm' }] });
  assert.equal(toHttpError(mixed, q).code, 'body.invalid');
  assert.equal(toHttpError(inQuery).code, 'body.invalid');
});
