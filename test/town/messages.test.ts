import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentRecord, MessageRecord } from '../../src/town/records.js';
import { T0, all, makeTown, rejectsWith, stored } from './town-fixture.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { Store } from '../../src/store/store.js';
import { createTown } from '../../src/town/town.js';

test('send defaults to a normal task from the supervisor and answers with message_id', async () => {
  const { town, store } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  const m = await town.sendMessage({ to: 'W', message: 'do it' });
  assert.equal(m.message_id, m.id);
  assert.deepEqual(
    { from: m.from, to: m.to, to_agent: m.to_agent, kind: m.kind, body: m.body, urgent: m.urgent, task_id: m.task_id, created_at: m.created_at },
    { from: 'supervisor', to: 'w', to_agent: a.id, kind: 'task', body: 'do it', urgent: false, task_id: null, created_at: new Date(T0).toISOString() },
  );
  assert.equal((await stored<MessageRecord>(store, 'messages', m.id))?.body, 'do it');
});

test('send resolves from/to by name or id; supervisor and conductor are the supervisor mailbox', async () => {
  const { town } = makeTown();
  const a = await town.spawnAgent({ name: 'w' });
  const m = await town.sendMessage({ to: 'conductor', message: 'q?', kind: 'query', from: a.id });
  assert.deepEqual([m.from, m.to, m.to_agent], ['w', 'supervisor', 'supervisor']);
  const m2 = await town.sendMessage({ to: a.id, message: 'hi', from: 'Conductor' });
  assert.equal(m2.from, 'supervisor');
  assert.equal((await town.inbox('supervisor')).total, 1);
});

test('send to or from an unknown agent is 404 and an unknown kind 422; nothing is queued', async () => {
  const { town, store } = makeTown();
  await town.spawnAgent({ name: 'w' });
  await rejectsWith(town.sendMessage({ to: 'ghost', message: 'x' }), 'agent.not_found');
  await rejectsWith(town.sendMessage({ to: 'w', message: 'x', from: 'ghost' }), 'agent.not_found');
  const err = await rejectsWith(town.sendMessage({ to: 'w', message: 'x', kind: 'gossip' as never }), 'input.invalid');
  assert.equal(err.extras.errors?.[0]?.pointer, '/kind');
  assert.equal((await all(store, 'messages')).length, 0);
});

async function seedMixed(town: ReturnType<typeof makeTown>['town']): Promise<string[]> {
  await town.spawnAgent({ name: 'w' });
  const send = async (body: string, urgent: boolean, kind: 'info' | 'query' = 'info'): Promise<void> => {
    await town.sendMessage({ to: 'w', message: body, urgent, kind });
  };
  await send('n1', false);
  await send('u1', true, 'query');
  await send('n2', false, 'query');
  await send('u2', true);
  await send('n3', false);
  return ['u1', 'u2', 'n1', 'n2', 'n3'];
}

test('inbox is non-destructive and lists urgent first, FIFO within each', async () => {
  const { town } = makeTown();
  const order = await seedMixed(town);
  const first = await town.inbox('w');
  assert.deepEqual(first.messages.map((m) => m.body), order);
  assert.deepEqual([first.agent, first.count, first.total, first.urgent, first.next_cursor], ['w', 5, 5, 2, null]);
  assert.deepEqual((await town.inbox('w')).messages.map((m) => m.body), order, 'reading again shows the same');
  await rejectsWith(town.inbox('ghost'), 'agent.not_found');
});

test('next pops in delivery order until empty, then null', async () => {
  const { town, store, clock } = makeTown();
  const order = await seedMixed(town);
  clock.advance(1000);
  const popped: string[] = [];
  for (;;) {
    const m = await town.nextMessage('w');
    if (m === null) break;
    assert.equal(m.message_id, m.id);
    popped.push(m.body);
  }
  assert.deepEqual(popped, order);
  assert.equal((await all(store, 'messages')).length, 0);
  const agent = (await all<AgentRecord>(store, 'agents'))[0];
  assert.equal(agent?.last_active_at, new Date(T0 + 1000).toISOString());
  await rejectsWith(town.nextMessage('ghost'), 'agent.not_found');
});

test('the supervisor mailbox can be popped', async () => {
  const { town } = makeTown();
  await town.sendMessage({ to: 'supervisor', message: 'report' });
  assert.equal((await town.nextMessage('conductor'))?.body, 'report');
  assert.equal(await town.nextMessage('supervisor'), null);
});

test('inbox pages follow delivery order with no duplicates or gaps', async () => {
  const { town } = makeTown();
  const order = await seedMixed(town);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<typeof town.inbox>> = await town.inbox('w', { limit: 2, cursor });
    assert.equal(page.total, 5);
    assert.ok(page.count <= 2);
    seen.push(...page.messages.map((m) => m.body));
    cursor = page.next_cursor;
  } while (cursor !== null);
  assert.deepEqual(seen, order);
});

test('a long-poll is woken by a message sent while it waits', async () => {
  const { town } = makeTown();
  await town.spawnAgent({ name: 'w' });
  const started = performance.now();
  const pending = town.nextMessage('w', { waitMs: 5000 });
  setTimeout(() => void town.sendMessage({ to: 'w', message: 'wake up' }), 30);
  const m = await pending;
  assert.equal(m?.body, 'wake up');
  assert.ok(performance.now() - started < 2000, 'answered on the send, not the timeout');
  assert.equal(town.waiting(), 0);
  assert.equal((await town.inbox('w')).total, 0, 'the message was taken');
});

test('a long-poll times out with null and leaves no waiter behind', async () => {
  const { town } = makeTown();
  await town.spawnAgent({ name: 'w' });
  const started = performance.now();
  assert.equal(await town.nextMessage('w', { waitMs: 60 }), null);
  assert.ok(performance.now() - started >= 50);
  assert.equal(town.waiting(), 0);
});

test('an aborted long-poll answers null and takes no message sent afterwards', async () => {
  const { town } = makeTown();
  await town.spawnAgent({ name: 'w' });
  const ac = new AbortController();
  const pending = town.nextMessage('w', { waitMs: 5000, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  assert.equal(await pending, null);
  assert.equal(town.waiting(), 0);
  await town.sendMessage({ to: 'w', message: 'later' });
  assert.equal((await town.inbox('w')).total, 1);
  // Already aborted: nothing is taken even though a message is there.
  assert.equal(await town.nextMessage('w', { waitMs: 1000, signal: ac.signal }), null);
  assert.equal((await town.inbox('w')).total, 1);
});

test('two long-polls on one mailbox: one message goes to exactly one of them', async () => {
  const { town } = makeTown();
  await town.spawnAgent({ name: 'w' });
  const a = town.nextMessage('w', { waitMs: 300 });
  const b = town.nextMessage('w', { waitMs: 300 });
  setTimeout(() => void town.sendMessage({ to: 'w', message: 'only one' }), 20);
  const results = await Promise.all([a, b]);
  assert.deepEqual(results.map((r) => r?.body ?? null).sort(), ['only one', null].sort());
  assert.equal(town.waiting(), 0);
});

test('a message for another mailbox does not answer a long-poll', async () => {
  const { town } = makeTown();
  await town.spawnAgent({ name: 'w' });
  await town.spawnAgent({ name: 'other' });
  const pending = town.nextMessage('w', { waitMs: 80 });
  setTimeout(() => void town.sendMessage({ to: 'other', message: 'not yours' }), 10);
  assert.equal(await pending, null);
  assert.equal((await town.inbox('other')).total, 1);
});

test('task_done wakes a supervisor long-poll', async () => {
  const { town } = makeTown();
  await town.spawnAgent({ name: 'w' });
  const t = await town.assignTask('w', 'job');
  const pending = town.nextMessage('supervisor', { waitMs: 5000 });
  setTimeout(() => void town.completeTask(t.id, 'done'), 20);
  const m = await pending;
  assert.deepEqual([m?.kind, m?.task_id], ['task_done', t.id]);
});

// Regression: a reader that went away while its pop was being made durable
// took the message with it; the message now goes back in its place.
test('inbox/next puts the message back when the reader left during the pop', async () => {
  const inner = createMemoryStore();
  const gone = new AbortController();
  let armed = false;
  const store: Store = {
    read: (fn) => inner.read(fn),
    close: () => inner.close(),
    version: () => inner.version(),
    async transact(fn) {
      const result = await inner.transact(fn);
      if (armed) {
        armed = false;
        gone.abort(); // the client disconnects while this write was in flight
      }
      return result;
    },
  };
  const town = createTown({ store, clock: { now: () => 0 }, config: { name: 't', defaultCli: 'claude', maxAgents: 5, heartbeatTimeoutSecs: 120 } });
  await town.spawnAgent({ name: 'w' });
  await town.sendMessage({ to: 'w', message: 'first', urgent: null, kind: null, from: null });
  await town.sendMessage({ to: 'w', message: 'second', urgent: null, kind: null, from: null });
  armed = true;
  assert.equal(await town.nextMessage('w', { signal: gone.signal }), null);
  assert.deepEqual((await town.inbox('w')).messages.map((m) => m.body), ['first', 'second'], 'back in its place');
  assert.equal((await town.nextMessage('w'))?.body, 'first');
});
