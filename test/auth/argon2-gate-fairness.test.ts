// The Argon2 gate's fairness (issue 8, item 8): one owner (client address)
// holds at most a quarter of the queue, owners take turns for free slots, and
// an owner new to the gate goes first, taking a flooder's place when it is full.
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
    assert.deepEqual(order, ['victim', 'a0', 'a1'], 'a new owner goes first');
  });

  test('the whole-queue bound still holds across owners', async () => {
    const gate = createArgon2Gate(1, 2);
    // Owners that used the gate a moment ago are not new: none may take another's place.
    for (const o of ['x', 'a', 'b', 'c']) await gate.run(async () => undefined, o);
    const first = holdable();
    const p0 = gate.run(first.task, 'x');
    const results = [gate.run(async () => 1, 'a'), gate.run(async () => 2, 'b'), gate.run(async () => 3, 'c')];
    assert.equal(await results[2], null);
    first.release();
    assert.deepEqual(await Promise.all([p0, results[0], results[1]]), ['done', 1, 2]);
  });
});

describe('createArgon2Gate: new owners under a flood from many owners', () => {
  /** Owners that used the gate a moment ago (while a slot was free): no longer new. */
  async function known(gate: ReturnType<typeof createArgon2Gate>, owners: string[]): Promise<void> {
    for (const o of owners) await gate.run(async () => undefined, o);
  }

  test('known owners take turns: a second task of one owner waits behind the first task of another', async () => {
    const gate = createArgon2Gate(1, 8, () => 0);
    await known(gate, ['x', 'a', 'b']);
    const order: string[] = [];
    const first = holdable();
    const p0 = gate.run(first.task, 'x');
    const runs = [gate.run(async () => void order.push('a1'), 'a'), gate.run(async () => void order.push('a2'), 'a'), gate.run(async () => void order.push('b1'), 'b')];
    first.release();
    await Promise.all([p0, ...runs]);
    assert.deepEqual(order, ['a1', 'b1', 'a2']);
  });

  test("a queue full of known owners' tasks (one each): a new owner takes one place and runs first", async () => {
    let t = 0;
    const gate = createArgon2Gate(1, 3, () => t);
    await known(gate, ['f0', 'f1', 'f2', 'f3']);
    t = 1000;
    const first = holdable();
    const p0 = gate.run(first.task, 'f0');
    const flood = ['f1', 'f2', 'f3'].map((o) => gate.run(async () => o, o));
    assert.equal(gate.queued, 3);
    const order: string[] = [];
    const victim = gate.run(async () => void order.push('victim'), 'victim');
    assert.equal(gate.queued, 3, 'a place was taken over, not added');
    first.release();
    const results = await Promise.all(flood);
    await Promise.all([p0, victim]);
    assert.deepEqual(order, ['victim']);
    assert.equal(results.filter((r) => r === null).length, 1, 'one flood task was shed');
  });

  test('a minute later the same owner counts as new again', async () => {
    let t = 0;
    const gate = createArgon2Gate(1, 1, () => t);
    await known(gate, ['f']);
    const first = holdable();
    const p0 = gate.run(first.task, 'x');
    const queuedF = gate.run(async () => 'f', 'f');
    assert.equal(await gate.run(async () => 'f again', 'f'), null, 'known, and its share is used');
    t = 60_001;
    const late = gate.run(async () => 'late', 'g');
    assert.equal(await queuedF, null, 'shed for the new owner g');
    first.release();
    assert.deepEqual(await Promise.all([p0, late]), ['done', 'late']);
  });

  test('a burst of new owners fills the queue: a new owner after them takes the oldest place and runs first', async () => {
    const gate = createArgon2Gate(1, 3, () => 0);
    const first = holdable();
    const p0 = gate.run(first.task, 'x');
    const order: string[] = [];
    const burst = ['n1', 'n2', 'n3'].map((o) => gate.run(async () => void order.push(o), o));
    const victim = gate.run(async () => void order.push('victim'), 'victim');
    assert.equal(await burst[0], null, 'the oldest new owner was shed');
    first.release();
    await Promise.all([p0, victim, ...burst]);
    assert.deepEqual(order, ['victim', 'n3', 'n2']);
  });
});
