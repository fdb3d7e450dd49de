// No town call walks the tasks or the messages: each reads the buckets of its
// derived indexes, so its cost follows its answer, not the size of the town.
// The store here refuses `list` and `ids` of those two collections; every
// read and write the API offers must still work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Collection, ReadTx, Store, WriteTx } from '../../src/store/store.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createCrsDesk } from '../../src/town/crs-desk.js';
import { applyRetention } from '../../src/town/retention.js';
import { createTown } from '../../src/town/town.js';
import { fakeClock } from './town-fixture.js';

const BIG: readonly Collection[] = ['tasks', 'messages'];

function refuseScans<T extends ReadTx>(tx: T): T {
  const guard = (c: Collection, what: string): void => {
    if (BIG.includes(c)) throw new Error(`${what}('${c}') walks the whole collection`);
  };
  return new Proxy(tx, {
    get(target, prop, receiver) {
      if (prop === 'list' || prop === 'ids') {
        return (c: Collection) => {
          guard(c, prop);
          return (target[prop] as (c: Collection) => unknown).call(target, c);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function scanFreeStore(): Store {
  const inner = createMemoryStore();
  return {
    transact: (fn) => inner.transact((tx: WriteTx) => fn(refuseScans(tx))),
    read: (fn) => inner.read((tx: ReadTx) => fn(refuseScans(tx))),
    close: () => inner.close(),
    version: () => inner.version(),
  };
}

test('every town call works without walking the tasks or the messages', async () => {
  const clock = fakeClock();
  const town = createTown({ store: scanFreeStore(), clock, config: { name: 't', defaultCli: 'claude', maxAgents: 10, heartbeatTimeoutSecs: 60 } });
  const crs = createCrsDesk(town);
  await town.spawnAgent({ name: 'a' });
  await town.spawnAgent({ name: 'b' });
  const queued = [];
  for (let i = 0; i < 5; i++) queued.push(await town.addBacklog({ description: `t${i}`, tags: ['x'] }));
  await town.sendMessage({ to: 'a', message: 'hello', urgent: true });
  await town.sendMessage({ to: 'a', message: 'again' });
  await town.summary();
  await town.scaling();
  await town.listBacklog({ limit: 2 });
  await town.listTasks({ state: 'pending', tag: 'x' }, { limit: 2 });
  await town.listPendingTasks();
  await town.inbox('a', { limit: 1 });
  assert.equal((await town.nextMessage('a'))?.body, 'hello');
  const claimed = await town.claimTask(queued[0]!.id, 'a');
  await town.startTask(claimed.id);
  await town.completeTask(claimed.id, 'done');
  await town.removeBacklog(queued[1]!.id);
  await town.assignAll('b');
  await town.killAgent('b');
  clock.advance(120_000);
  await town.recover();
  await town.restartAgent('a');
  await town.orphanTasks('list');
  await town.reclaim({ to: 'a' });
  await town.orphanTasks('to_backlog');
  await town.pruneAgents(false);
  const deadline = clock.now() + 3_600_000;
  const task = { type: 'full' as const, deadline, focus: 'f', project_name: 'p', harnesses_included: true, metadata: {}, source: [] };
  await crs.submit({ message_id: 'm1', message_time: clock.now(), tasks: [{ ...task, task_id: '0196f0a0-0000-7000-8000-000000000001' }] });
  await crs.cancel('0196f0a0-0000-7000-8000-000000000002');
  await crs.status();
  await crs.cancelAll();
  await crs.expireDue();
  await crs.purge();
  clock.advance(8 * 86_400_000);
  assert.ok((await applyRetention(town, 86_400_000)) >= 3);
  assert.equal((await town.summary()).tasks_by_state.completed, 0);
});
