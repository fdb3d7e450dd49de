// town.get_status answers without waiting only for a store version a read
// already showed durable, on a store this process alone writes; any change of
// version (a write, a rollback) or a shared store goes back through the read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OperationContext } from '../../src/operations/operation.js';
import { statusOperations, type StatusDeps } from '../../src/operations/status-operations.js';
import type { Town } from '../../src/town/town.js';

const ctx = { principal: { id: 'p', scopes: ['admin'] }, requestId: 'r', transport: 'local', signal: new AbortController().signal, commit: undefined } as OperationContext;

/** A town whose summary counts its reads, and whose backlog count is what the test says. */
function fakeTown(): { town: Town; reads: () => number; setBacklog: (n: number) => void } {
  let reads = 0;
  let backlog = 0;
  const town = {
    summary: async () => {
      reads++;
      return { name: 't', agents: 0, agent_list: [], agents_by_state: {}, tasks_by_state: {}, backlog, urgent_messages: 0, messages: 0 };
    },
    info: () => ({ name: 't', root: '/town', redis_url: null, default_cli: 'claude', max_agents: 10, heartbeat_timeout_secs: 60 }),
  } as unknown as Town;
  return { town, reads: () => reads, setBacklog: (n) => void (backlog = n) };
}

function statusOp(town: Town, deps: Partial<StatusDeps>) {
  const op = statusOperations(town, { version: '1', authMode: 'none', uptimeSecs: () => 7, ...deps }).find((o) => o.name === 'town.get_status')!;
  return (): unknown => op.run(ctx, {} as never);
}

test('status: a version shown durable is answered synchronously, with the same frozen object', async () => {
  const { town, reads } = fakeTown();
  let version = 3;
  const run = statusOp(town, { localVersion: () => version });
  const first = run();
  assert.ok(first instanceof Promise, 'the first answer reads through the store');
  const out = (await first) as { uptime_secs: number };
  assert.equal(out.uptime_secs, 7);
  const again = run();
  assert.ok(!(again instanceof Promise), 'the same version is answered without waiting');
  assert.equal(again, out);
  assert.ok(Object.isFrozen(again));
  assert.equal(reads(), 1);
  version = 4;
  assert.ok(run() instanceof Promise, 'a new version reads through again');
});

test('status: a write seen while the read waited is not kept as durable', async () => {
  const { town, reads, setBacklog } = fakeTown();
  let version = 1;
  const run = statusOp(town, { localVersion: () => version });
  setBacklog(1);
  const pending = run() as Promise<unknown>;
  version = 2; // applied while the first read waited for durability
  await pending;
  setBacklog(2);
  const next = run();
  assert.ok(next instanceof Promise);
  assert.equal(((await next) as { backlog: number }).backlog, 2);
  assert.equal(reads(), 2);
});

test('status: a new uptime second builds a new answer from the kept summary', async () => {
  const { town, reads } = fakeTown();
  let secs = 1;
  const run = statusOp(town, { localVersion: () => 9, uptimeSecs: () => secs });
  await run();
  secs = 2;
  const out = run() as { uptime_secs: number };
  assert.equal(out.uptime_secs, 2);
  assert.equal(reads(), 1);
});

test('status: a shared or failed store (no local version) always reads through', async () => {
  const { town, reads } = fakeTown();
  const run = statusOp(town, { localVersion: () => null });
  await run();
  assert.ok(run() instanceof Promise);
  await run();
  const noHook = statusOp(town, {});
  await noHook();
  assert.ok(noHook() instanceof Promise);
  assert.equal(reads(), 5);
});
