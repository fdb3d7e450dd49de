// A store shared by several processes reports other processes' commits
// through Store.onRemoteChange; the town must wake its long-poll readers for
// them, as it does for its own sends. Here a second town over the same memory
// store plays the other replica, and the shared store reports its writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { RecordChange, Store } from '../../src/store/store.js';
import { createTown } from '../../src/town/town.js';
import { fakeClock } from './town-fixture.js';

const config = { name: 'testtown', defaultCli: 'claude', maxAgents: 5, heartbeatTimeoutSecs: 120 };

/** The same store seen by "this replica": writes made through `other` are reported as remote. */
function sharedStore(): { mine: Store; other: Store; emit(changes: readonly RecordChange[] | 'reset'): void } {
  const base = createMemoryStore();
  let listener: ((changes: readonly RecordChange[] | 'reset') => void) | undefined;
  const mine: Store = { ...base, transact: (fn) => base.transact(fn), read: (fn) => base.read(fn), onRemoteChange: (l) => ((listener = l), () => (listener = undefined)) };
  return { mine, other: base, emit: (changes) => listener?.(changes) };
}

test('a message another replica queued wakes this replica\'s long-poll reader', async () => {
  const { mine, other, emit } = sharedStore();
  const clock = fakeClock();
  const here = createTown({ store: mine, clock, config });
  const there = createTown({ store: other, clock, config });
  await there.spawnAgent({ name: 'mia' });
  const poll = here.nextMessage('mia', { waitMs: 60_000 });
  await new Promise((r) => setImmediate(r));
  assert.equal(here.waiting(), 1, 'the reader is waiting');
  const sent = await there.sendMessage({ to: 'mia', message: 'hello' });
  emit([{ collection: 'messages', id: sent.message_id, value: { to_agent: (await other.read((tx) => tx.list<{ id: string; to_agent: string }>('messages')))[0]!.to_agent } }]);
  const got = await poll;
  assert.equal(got?.id, sent.message_id);
  assert.equal(here.waiting(), 0);
});

test('a full reload ("reset") wakes every reader, and one with nothing to read waits on', async () => {
  const { mine, other, emit } = sharedStore();
  const clock = fakeClock();
  const here = createTown({ store: mine, clock, config });
  const there = createTown({ store: other, clock, config });
  await there.spawnAgent({ name: 'mia' });
  await there.spawnAgent({ name: 'max' });
  const controller = new AbortController();
  const miaPoll = here.nextMessage('mia', { waitMs: 60_000 });
  const maxPoll = here.nextMessage('max', { waitMs: 60_000, signal: controller.signal });
  await new Promise((r) => setImmediate(r));
  assert.equal(here.waiting(), 2);
  const sent = await there.sendMessage({ to: 'mia', message: 'after reload' });
  emit('reset');
  assert.equal((await miaPoll)?.id, sent.message_id);
  await new Promise((r) => setImmediate(r));
  assert.equal(here.waiting(), 1, 'max looked again, found nothing, and waits');
  controller.abort();
  assert.equal(await maxPoll, null);
});
