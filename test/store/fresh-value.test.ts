// createFreshValue: the read barrier of the Redis store. A caller must get a
// value from a request sent after it asked; concurrent callers share requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFreshValue } from '../../src/store/fresh-value.js';

test('callers arriving during a request share the next one, never the one in flight', async () => {
  let sent = 0;
  const pending: ((v: number) => void)[] = [];
  const fresh = createFreshValue(() => {
    const n = ++sent;
    return new Promise<number>((resolve) => pending.push(() => resolve(n)));
  });
  const first = fresh();
  const late = [fresh(), fresh(), fresh()];
  assert.equal(sent, 1, 'late callers do not start requests of their own while one is in flight');
  pending.shift()!(0);
  assert.equal(await first, 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(sent, 2, 'one more request, sent after the late callers asked');
  pending.shift()!(0);
  assert.deepEqual(await Promise.all(late), [2, 2, 2]);
});

test('a failed request fails its callers only; the next callers get a new request', async () => {
  let calls = 0;
  const fresh = createFreshValue(() => (++calls === 1 ? Promise.reject(new Error('down')) : Promise.resolve(calls)));
  await assert.rejects(fresh(), /down/);
  assert.equal(await fresh(), 2);
});
