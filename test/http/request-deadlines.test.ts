// RequestDeadlines: the linked list of waiting requests. Deadlines expire
// oldest first, untracking works from any place in the list (and twice, or
// after expiry, is harmless), and an untracked deadline keeps no links. The
// 408 itself is tested through the server (hardening.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RequestDeadlines, type Deadline } from '../../src/http/request-deadlines.js';

function deadline(name: string, expired: string[]): Deadline & { name: string } {
  return { name, at: 0, prevDeadline: null, nextDeadline: null, onExpire: () => expired.push(name) };
}

describe('RequestDeadlines', () => {
  test('expires due deadlines oldest first and leaves the rest', () => {
    let now = 1000;
    const expired: string[] = [];
    const deadlines = new RequestDeadlines(100, () => now);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => deadline(n, expired));
    deadlines.track(a!);
    now += 10;
    deadlines.track(b!);
    now += 10;
    deadlines.track(c!);
    assert.equal(a!.at, 1100);
    now = 1105;
    deadlines.sweep();
    assert.deepEqual(expired, ['a']);
    assert.equal(deadlines.size, 2);
    now = 1200;
    deadlines.sweep();
    assert.deepEqual(expired, ['a', 'b', 'c']);
    assert.equal(deadlines.size, 0);
    deadlines.close();
  });

  test('untracking the head, the middle, the tail, twice, or after expiry', () => {
    let now = 0;
    const expired: string[] = [];
    const deadlines = new RequestDeadlines(100, () => now);
    const [a, b, c, d, e] = [deadline('a', expired), deadline('b', expired), deadline('c', expired), deadline('d', expired), deadline('e', expired)];
    for (const x of [a, b, c, d, e]) deadlines.track(x);
    deadlines.untrack(c); // middle
    deadlines.untrack(a); // head
    deadlines.untrack(e); // tail
    deadlines.untrack(e); // again: nothing
    assert.equal(deadlines.size, 2);
    for (const x of [a, c, e]) assert.deepEqual([x.prevDeadline, x.nextDeadline], [null, null]);
    const later = deadline('f', expired);
    deadlines.track(later); // after the tail was removed
    now = 100;
    deadlines.sweep();
    assert.deepEqual(expired, ['b', 'd', 'f']);
    deadlines.untrack(b); // already expired: nothing
    deadlines.untrack(d);
    assert.equal(deadlines.size, 0);
    deadlines.track(a); // the list works again from empty
    assert.equal(deadlines.size, 1);
    deadlines.close();
  });

  test('an untracked deadline that is not in the list leaves a single tracked one alone', () => {
    const deadlines = new RequestDeadlines(100, () => 0);
    const expired: string[] = [];
    const only = deadline('only', expired);
    const stranger = deadline('stranger', expired);
    deadlines.track(only);
    deadlines.untrack(stranger);
    assert.equal(deadlines.size, 1);
    deadlines.close();
  });
});
