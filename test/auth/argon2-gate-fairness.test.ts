// The Argon2 gate's fairness (issue 8, item 8): one owner (client address)
// holds at most a quarter of the queue, and owners take turns for free slots.
// Tasks are held open by hand, so no timing is involved.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createArgon2Gate } from '../../src/auth/argon2-gate.js';

/** A task that runs until `release()` is called. */
function holdable(): { task: () => Promise<string>; release: () => void } {
  let release: () => void = () => undefined;
  const task = (): Promise<string> => new Promise<string>((resolve) => (release = () => resolve('done')));
  return { task, release: () => release() };
}

describe('createArgon2Gate: per-owner share and turns', () => {
  test("one owner holds at most a quarter of the queue; another owner's task still queues and runs next", async () => {
    const gate = createArgon2Gate(1, 8);
        const first = holdable();
    const p0 = gate.run(first.task, 'attacker');
    const order: string[] = [];
    const flood = Array.from({ length: 10 }, (_, i) => gate.run(async () => void order.push(`a${i}`), 'attacker'));
    const victim = gate.run(async () => void order.push('victim'), 'victim');
    assert.equal(gate.queued, 3, 'two attacker places (8 / 4) and the victim');
    const shed = (await Promise.all(flood.slice(2))).filter((r) => r === null).length;
    assert.equal(shed, 8);
    first.release();
    await Promise.all([p0, victim, ...flood.slice(0, 2)]);
    assert.deepEqual(order, ['a0', 'victim', 'a1'], 'owners take turns');
  });

  test('the whole-queue bound still holds across owners', async () => {
    const gate = createArgon2Gate(1, 2);
    const first = holdable();
    const p0 = gate.run(first.task, 'x');
    const results = [gate.run(async () => 1, 'a'), gate.run(async () => 2, 'b'), gate.run(async () => 3, 'c')];
    assert.equal(await results[2], null);
    first.release();
    assert.deepEqual(await Promise.all([p0, results[0], results[1]]), ['done', 1, 2]);
  });
});
