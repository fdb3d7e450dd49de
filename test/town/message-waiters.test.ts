import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createMessageWaiters } from '../../src/town/message-waiters.js';

test('a notify before the wait is not lost', async () => {
  const w = createMessageWaiters();
  const waiter = w.register('box');
  assert.ok(waiter);
  w.notify('box');
  assert.equal(await waiter.wait(10_000), 'notified');
  assert.equal(w.size(), 0);
});

test('a notify during the wait wakes it; other mailboxes do not', async () => {
  const w = createMessageWaiters();
  const waiter = w.register('box');
  assert.ok(waiter);
  const p = waiter.wait(10_000);
  w.notify('other');
  setTimeout(() => w.notify('box'), 10);
  assert.equal(await p, 'notified');
  assert.equal(w.size(), 0);
});

test('timeout and abort end the wait and remove the timer and listener', async () => {
  const w = createMessageWaiters();
  const t = w.register('box');
  assert.ok(t);
  assert.equal(await t.wait(10), 'timeout');
  const ac = new AbortController();
  const a = w.register('box');
  assert.ok(a);
  const p = a.wait(10_000, ac.signal);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  ac.abort();
  assert.equal(await p, 'aborted');
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  assert.equal(w.size(), 0);
  const b = w.register('box');
  assert.ok(b);
  assert.equal(await b.wait(10_000, ac.signal), 'aborted', 'an already-aborted signal answers at once');
  assert.equal(w.size(), 0);
});

test('a notified wait removes its abort listener', async () => {
  const w = createMessageWaiters();
  const ac = new AbortController();
  const waiter = w.register('box');
  assert.ok(waiter);
  const p = waiter.wait(10_000, ac.signal);
  w.notify('box');
  assert.equal(await p, 'notified');
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('the registry is bounded; cancel frees a slot and ends a pending wait', async () => {
  const w = createMessageWaiters(2);
  const a = w.register('x');
  const b = w.register('y');
  assert.ok(a && b);
  assert.equal(w.register('z'), null);
  const p = a.wait(10_000);
  a.cancel();
  assert.equal(await p, 'aborted');
  assert.equal(w.size(), 1);
  assert.ok(w.register('z'));
  b.cancel();
  b.cancel();
  assert.equal(w.size(), 1);
});
