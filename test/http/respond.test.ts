// The one place errors become problem responses: unknown errors are a fixed
// 500 with nothing of theirs; a failed store is a 503 with Retry-After.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../../src/errors.js';
import { toHttpError } from '../../src/http/respond.js';
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
