// The failed-attempt limiter (fake clock) and the Argon2 concurrency gate
// (tasks held open by hand, so no timing is involved).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createArgon2Gate } from '../../src/auth/argon2-gate.js';
import { createCredentialFingerprinter, createCredentialIdentity } from '../../src/auth/credential-fingerprint.js';
import { ADDRESS_CEILING_FACTOR, createFailureLimiter } from '../../src/auth/failure-limiter.js';

function fakeClock(start = 1_800_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('createFailureLimiter', () => {
  test('19 failures: not blocked; 20 failures: the 21st attempt is blocked for 60 s', () => {
    const clock = fakeClock();
    const limiter = createFailureLimiter(20, clock);
    for (let i = 0; i < 19; i++) limiter.recordFailure('10.0.0.1');
    assert.equal(limiter.blockedFor('10.0.0.1'), 0);
    limiter.recordFailure('10.0.0.1');
    assert.equal(limiter.blockedFor('10.0.0.1'), 60);
  });

  test('Retry-After counts down and reaches 0 when the window has passed', () => {
    const clock = fakeClock();
    const limiter = createFailureLimiter(20, clock);
    for (let i = 0; i < 20; i++) limiter.recordFailure('a');
    clock.advance(15_000);
    assert.equal(limiter.blockedFor('a'), 45);
    clock.advance(44_000);
    assert.equal(limiter.blockedFor('a'), 1);
    clock.advance(500);
    assert.equal(limiter.blockedFor('a'), 1, 'half a second left rounds up');
    clock.advance(500);
    assert.equal(limiter.blockedFor('a'), 0, 'free after exactly 60 s');
  });

  test('the window slides: only failures from the last 60 s count', () => {
    const clock = fakeClock();
    const limiter = createFailureLimiter(20, clock);
    for (let i = 0; i < 10; i++) limiter.recordFailure('a');
    clock.advance(30_000);
    for (let i = 0; i < 10; i++) limiter.recordFailure('a');
    // Blocked until the first ten leave the window, 30 s from now.
    assert.equal(limiter.blockedFor('a'), 30);
    clock.advance(30_000);
    assert.equal(limiter.blockedFor('a'), 0);
    // The second ten are still in the window: 10 more failures block again.
    for (let i = 0; i < 9; i++) limiter.recordFailure('a');
    assert.equal(limiter.blockedFor('a'), 0);
    limiter.recordFailure('a');
    assert.equal(limiter.blockedFor('a'), 30);
  });

  test('failures spread over the minute: blocked until the oldest counted one expires', () => {
    const clock = fakeClock();
    const limiter = createFailureLimiter(3, clock);
    limiter.recordFailure('a');
    clock.advance(10_000);
    limiter.recordFailure('a');
    clock.advance(10_000);
    limiter.recordFailure('a');
    assert.equal(limiter.blockedFor('a'), 40);
  });

  test('failures while blocked keep the newest ones (a sustained attack stays blocked)', () => {
    const clock = fakeClock();
    const limiter = createFailureLimiter(2, clock);
    limiter.recordFailure('a');
    limiter.recordFailure('a');
    clock.advance(50_000);
    limiter.recordFailure('a');
    // Of the failures in the window, the last 2 are at t+0 and t+50 s: free at t+60 s.
    assert.equal(limiter.blockedFor('a'), 10);
    clock.advance(10_000);
    assert.equal(limiter.blockedFor('a'), 0);
  });

  test('addresses are independent', () => {
    const clock = fakeClock();
    const limiter = createFailureLimiter(20, clock);
    for (let i = 0; i < 20; i++) limiter.recordFailure('10.0.0.1');
    for (let i = 0; i < 19; i++) limiter.recordFailure('10.0.0.2');
    assert.equal(limiter.blockedFor('10.0.0.1'), 60);
    assert.equal(limiter.blockedFor('10.0.0.2'), 0);
    assert.equal(limiter.blockedFor('10.0.0.3'), 0);
    assert.equal(limiter.blockedFor('::1'), 0);
  });

  test('the address map is bounded: past maxAddresses the oldest-touched address is forgotten', () => {
    const clock = fakeClock();
    const limiter = createFailureLimiter(1, clock, 2);
    limiter.recordFailure('a');
    limiter.recordFailure('b');
    assert.equal(limiter.blockedFor('a'), 60);
    assert.equal(limiter.blockedFor('b'), 60);
    limiter.recordFailure('c');
    assert.equal(limiter.blockedFor('a'), 0, 'a was evicted');
    assert.equal(limiter.blockedFor('b'), 60);
    assert.equal(limiter.blockedFor('c'), 60);
  });

  test('a new failure refreshes an address, so the least recently failing one is evicted', () => {
    const clock = fakeClock();
    const limiter = createFailureLimiter(1, clock, 2);
    limiter.recordFailure('a');
    limiter.recordFailure('b');
    limiter.recordFailure('a');
    limiter.recordFailure('c');
    assert.equal(limiter.blockedFor('b'), 0, 'b was the oldest-touched');
    assert.equal(limiter.blockedFor('a'), 60);
    assert.equal(limiter.blockedFor('c'), 60);
  });
});

interface Held {
  release: () => void;
  fail: (err: Error) => void;
  started: boolean;
}

/** A task that starts (records concurrency) and finishes only when told to. */
function holdable(stats: { active: number; max: number }): { task: () => Promise<string>; held: Held } {
  const held: Held = { release: () => {}, fail: () => {}, started: false };
  const task = (): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      held.started = true;
      stats.active++;
      stats.max = Math.max(stats.max, stats.active);
      held.release = () => {
        stats.active--;
        resolve('done');
      };
      held.fail = (err) => {
        stats.active--;
        reject(err);
      };
    });
  return { task, held };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('createArgon2Gate', () => {
  test('the concurrency cap is honoured and queued tasks run as slots free', async () => {
    const gate = createArgon2Gate(2, 10);
    const stats = { active: 0, max: 0 };
    const tasks = Array.from({ length: 6 }, () => holdable(stats));
    const results = tasks.map(({ task }) => gate.run(task));
    await tick();
    assert.deepEqual(tasks.map((t) => t.held.started), [true, true, false, false, false, false]);
    assert.equal(gate.active, 2);
    assert.equal(gate.queued, 4);
    for (let i = 0; i < tasks.length; i++) {
      tasks[i]!.held.release();
      await tick();
      assert.ok(stats.active <= 2);
    }
    assert.deepEqual(await Promise.all(results), ['done', 'done', 'done', 'done', 'done', 'done']);
    assert.equal(stats.max, 2);
    assert.equal(gate.active, 0);
    assert.equal(gate.queued, 0);
  });

  test('queued tasks start in arrival order', async () => {
    const gate = createArgon2Gate(1, 10);
    const order: number[] = [];
    const first = holdable({ active: 0, max: 0 });
    const p0 = gate.run(first.task);
    const rest = [1, 2, 3].map((n) => gate.run(async () => void order.push(n)));
    await tick();
    assert.deepEqual(order, []);
    first.held.release();
    await Promise.all([p0, ...rest]);
    assert.deepEqual(order, [1, 2, 3]);
  });

  test('past the queue bound run() resolves null at once without running the task', async () => {
    const gate = createArgon2Gate(1, 1);
    const stats = { active: 0, max: 0 };
    const a = holdable(stats);
    const b = holdable(stats);
    const pa = gate.run(a.task);
    const pb = gate.run(b.task);
    let ranC = false;
    const pc = gate.run(async () => {
      ranC = true;
      return 'c';
    });
    assert.equal(await pc, null);
    assert.equal(ranC, false);
    assert.equal(gate.queued, 1);
    a.held.release();
    await tick();
    b.held.release();
    assert.deepEqual(await Promise.all([pa, pb]), ['done', 'done']);
    // With the gate idle again, work is accepted.
    assert.equal(await gate.run(async () => 'again'), 'again');
  });

  test('a queue of 0 sheds as soon as every slot is busy', async () => {
    const gate = createArgon2Gate(1, 0);
    const a = holdable({ active: 0, max: 0 });
    const pa = gate.run(a.task);
    assert.equal(await gate.run(async () => 'x'), null);
    a.held.release();
    assert.equal(await pa, 'done');
  });

  test('a task that throws releases its slot (the error reaches the caller)', async () => {
    const gate = createArgon2Gate(1, 5);
    await assert.rejects(gate.run(async () => Promise.reject(new Error('argon2 failed'))), /argon2 failed/);
    assert.equal(gate.active, 0);
    assert.equal(await gate.run(async () => 'ok'), 'ok');
  });

  test('a slot freed by a throwing task is handed to the next queued task', async () => {
    const gate = createArgon2Gate(1, 5);
    const stats = { active: 0, max: 0 };
    const a = holdable(stats);
    const b = holdable(stats);
    const pa = gate.run(a.task);
    const pb = gate.run(b.task);
    await tick();
    assert.equal(b.held.started, false);
    a.held.fail(new Error('boom'));
    await assert.rejects(pa, /boom/);
    await tick();
    assert.equal(b.held.started, true);
    b.held.release();
    assert.equal(await pb, 'done');
    assert.equal(stats.max, 1);
    assert.equal(gate.active, 0);
  });

  test('a synchronously throwing task also releases its slot', async () => {
    const gate = createArgon2Gate(1, 0);
    await assert.rejects(
      gate.run((): Promise<string> => {
        throw new Error('sync');
      }),
      /sync/,
    );
    assert.equal(gate.active, 0);
    assert.equal(await gate.run(async () => 'ok'), 'ok');
  });
});

describe('createFailureLimiter: address and credential zones', () => {
  test('one fingerprint blocked at the limit leaves another on the same address free', () => {
    const limiter = createFailureLimiter(3, fakeClock());
    for (let i = 0; i < 3; i++) limiter.recordFailure('a', 'f1');
    assert.equal(limiter.blockedFor('a', 'f1'), 60);
    assert.equal(limiter.blockedFor('a', 'f2'), 0);
    assert.equal(limiter.blockedFor('b', 'f1'), 0, 'the same credential from another address is free');
  });

  test('the per-address ceiling (5x) blocks every fingerprint of a client rotating guesses', () => {
    const limiter = createFailureLimiter(3, fakeClock());
    for (let i = 0; i < 14; i++) limiter.recordFailure('a', `guess-${i}`);
    assert.equal(limiter.blockedFor('a', 'fresh'), 0);
    limiter.recordFailure('a', 'guess-14');
    assert.equal(limiter.blockedFor('a', 'fresh'), 60);
    assert.equal(ADDRESS_CEILING_FACTOR, 5);
  });

  test('withdraw takes the attempt back from both zones', () => {
    const limiter = createFailureLimiter(1, fakeClock());
    limiter.recordFailure('a', 'f');
    limiter.withdraw('a', 'f');
    assert.equal(limiter.blockedFor('a', 'f'), 0);
    for (let i = 0; i < 4; i++) limiter.recordFailure('a', `g${i}`);
    assert.equal(limiter.blockedFor('a', 'other'), 0, 'the withdrawn attempt no longer counts toward the ceiling');
  });
});

describe('createCredentialFingerprinter', () => {
  const fp = createCredentialFingerprinter(Buffer.alloc(32, 7));
  const TOKEN = 'AbCdEfGh' + 'x'.repeat(56);

  test('Basic: by key id, whatever the token; never containing either', () => {
    const a = fp({ kind: 'basic', keyId: 'ops', token: 'one' }, null);
    assert.equal(fp({ kind: 'basic', keyId: 'ops', token: 'two' }, null), a);
    assert.notEqual(fp({ kind: 'basic', keyId: 'dev', token: 'one' }, null), a);
    assert.ok(!a.includes('ops'));
  });

  test("selector-form tokens: by selector; other tokens: by the whole token; the secret never appears", () => {
    const a = fp({ kind: 'bearer', token: TOKEN }, null);
    assert.equal(fp({ kind: 'x-api-key', token: 'AbCdEfGh' + 'y'.repeat(56) }, null), a, 'same selector, same count');
    assert.ok(!a.includes('AbCdEfGh') && !a.includes('xxxx'));
    assert.notEqual(fp({ kind: 'bearer', token: 'short-1' }, null), fp({ kind: 'bearer', token: 'short-2' }, null));
  });

  test('malformed credentials by scheme; certificates by subject; another process key gives other fingerprints', () => {
    assert.equal(fp({ kind: 'malformed', scheme: 'basic' }, null), 'm:basic');
    assert.notEqual(fp({ kind: 'none' }, { subject: 'a' } as never), fp({ kind: 'none' }, { subject: 'b' } as never));
    assert.notEqual(createCredentialFingerprinter(Buffer.alloc(32, 8))({ kind: 'bearer', token: TOKEN }, null), fp({ kind: 'bearer', token: TOKEN }, null));
  });
});

describe('createCredentialIdentity', () => {
  const id = createCredentialIdentity(Buffer.alloc(32, 7));
  const TOKEN = 'AbCdEfGh' + 'x'.repeat(56);

  test('equal only for the very same credential, where fingerprints are shared by every guess at a key', () => {
    assert.equal(id({ kind: 'basic', keyId: 'ops', token: 'one' }, null), id({ kind: 'basic', keyId: 'ops', token: 'one' }, null));
    assert.notEqual(id({ kind: 'basic', keyId: 'ops', token: 'one' }, null), id({ kind: 'basic', keyId: 'ops', token: 'two' }, null));
    assert.notEqual(id({ kind: 'bearer', token: TOKEN }, null), id({ kind: 'bearer', token: 'AbCdEfGh' + 'y'.repeat(56) }, null), 'same selector, other secret');
    assert.equal(id({ kind: 'bearer', token: TOKEN }, null), id({ kind: 'x-api-key', token: TOKEN }, null), 'one token in either header');
    assert.notEqual(id({ kind: 'none' }, { subject: 'a' } as never), id({ kind: 'none' }, { subject: 'b' } as never));
  });

  test('never containing the secret', () => {
    const v = id({ kind: 'basic', keyId: 'ops', token: TOKEN }, null);
    assert.ok(!v.includes('ops') && !v.includes('AbCdEfGh') && !v.includes('xxxx'));
  });
});
