// The operation table and its HTTP bindings: every operation declared once,
// bound once, with its scope, success status and schemas; inputs checked by
// invoke; every real answer conforms to the operation's declared output schema.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../../src/audit/audit-logger.js';
import { SCOPES } from '../../src/auth/scopes.js';
import { OpError } from '../../src/errors.js';
import { HTTP_BINDINGS } from '../../src/http/http-bindings.js';
import { createIdempotency } from '../../src/operations/idempotency.js';
import { createInvoker, type InvokeOptions } from '../../src/operations/invoke.js';
import { indexOperations, type AnyOperation } from '../../src/operations/operation.js';
import { validate } from '../../src/operations/schema.js';
import { townOperations } from '../../src/operations/town-operations.js';
import { makeTown } from '../town/town-fixture.js';

const EXPECTED: Array<[string, string, string, number]> = [
  ['GET', '/v1/status', 'town.read', 200],
  ['GET', '/v1/town', 'town.read', 200],
  ['GET', '/v1/agents', 'town.read', 200],
  ['GET', '/v1/agents/{agent}', 'town.read', 200],
  ['GET', '/v1/agents/{agent}/inbox', 'town.read', 200],
  ['POST', '/v1/agents/{agent}/inbox', 'town.read', 200],
  ['GET', '/v1/tasks', 'town.read', 200],
  ['GET', '/v1/tasks/pending', 'town.read', 200],
  ['GET', '/v1/tasks/{task_id}', 'town.read', 200],
  ['GET', '/v1/backlog', 'town.read', 200],
  ['POST', '/v1/tasks/assign', 'town.write', 201],
  ['POST', '/v1/backlog', 'town.write', 201],
  ['POST', '/v1/backlog/{task_id}/claim', 'town.write', 200],
  ['POST', '/v1/backlog/assign-all', 'town.write', 200],
  ['DELETE', '/v1/backlog/{task_id}', 'town.write', 200],
  ['POST', '/v1/messages/send', 'town.write', 201],
  ['POST', '/v1/agents/{agent}/heartbeat', 'town.write', 200],
  ['POST', '/v1/agents/{agent}/inbox/next', 'town.write', 200],
  ['POST', '/v1/tasks/{task_id}/start', 'town.write', 200],
  ['POST', '/v1/tasks/{task_id}/complete', 'town.write', 200],
  ['POST', '/v1/tasks/{task_id}/fail', 'town.write', 200],
  ['POST', '/v1/agents', 'agent.manage', 201],
  ['POST', '/v1/agents/{agent}/kill', 'agent.manage', 200],
  ['POST', '/v1/agents/{agent}/restart', 'agent.manage', 200],
  ['POST', '/v1/agents/prune', 'agent.manage', 200],
  ['POST', '/v1/recover', 'agent.manage', 200],
  ['POST', '/v1/reclaim', 'agent.manage', 200],
  ['POST', '/v1/reclaim/orphan-tasks', 'agent.manage', 200],
  ['GET', '/api/scaling', 'public', 200],
];

function harness() {
  const fx = makeTown({ name: 'ops' });
  const ops = townOperations(fx.town, { version: '9.9.9', authMode: 'api_key', uptimeSecs: () => 7 });
  const byName = indexOperations(ops);
  const audit: AuditEvent[] = [];
  const invoker = createInvoker({ audit: { log: (e) => audit.push(e) }, idempotency: createIdempotency(fx.store, fx.clock) });
  const outputs = new Map<string, unknown[]>();
  const options = (extra: Partial<InvokeOptions> = {}): InvokeOptions => ({
    transport: 'local', requestId: 'req-1', remoteAddr: '127.0.0.1', method: 'POST', path: '/test', statusOf: (e) => (e === undefined ? 200 : 400), ...extra,
  });
  const call = async (name: string, input: unknown = {}, extra: Partial<InvokeOptions> = {}): Promise<any> => {
    const op = byName.get(name);
    assert.ok(op, name);
    const { output } = await invoker.invoke({ id: 'tester', scopes: ['admin'] }, op, input, options(extra));
    // Every answer must match what the operation declares (and what /openapi.json and MCP publish).
    assert.deepEqual(validate(op.output, output), [], `${name} answered outside its output schema: ${JSON.stringify(output)}`);
    outputs.set(name, [...(outputs.get(name) ?? []), output]);
    return output;
  };
  return { ...fx, ops, byName, invoker, audit, call, options, outputs };
}

async function failure(p: Promise<unknown>): Promise<OpError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof OpError, String(err));
    return err;
  }
  assert.fail('expected an OpError');
}

test('the bindings declare exactly the REST endpoints, with scope and success status', () => {
  const { byName } = harness();
  const rows = HTTP_BINDINGS.map((b) => [b.method, b.path, byName.get(b.operation)!.scope, b.status ?? 200]);
  assert.deepEqual(rows.sort(), EXPECTED.map((e) => [...e]).sort());
});

test('every operation: unique dotted name, summary, a known scope, object input, bound at least once', () => {
  const { ops } = harness();
  assert.doesNotThrow(() => indexOperations(ops));
  assert.throws(() => indexOperations([...ops, ops[0]!]), /declared twice/);
  const bound = new Set(HTTP_BINDINGS.map((b) => b.operation));
  for (const op of ops) {
    assert.match(op.name, /^[a-z]+\.[a-z_]+$/);
    assert.ok(op.summary.trim().length > 0, op.name);
    assert.ok(op.scope === 'public' || (SCOPES as readonly string[]).includes(op.scope), op.name);
    assert.equal(op.input.type, 'object', op.name);
    assert.ok(bound.has(op.name), `${op.name} has no HTTP binding`);
    assert.deepEqual(validate(op.input, { surprise: 1 }).filter((e) => e.pointer === '/surprise').length, 1, `${op.name} rejects unknown fields`);
  }
});

test('mutating comes from the operation: reads (the POST inbox too) do not mutate', () => {
  const { ops } = harness();
  const mutating = new Set(ops.filter((o) => o.mutates).map((o) => o.name));
  for (const b of HTTP_BINDINGS) {
    if (b.method === 'GET' || b.operation === 'message.inbox') assert.equal(mutating.has(b.operation), false, b.operation);
    else assert.equal(mutating.has(b.operation), true, b.operation);
  }
  assert.deepEqual(ops.filter((o) => o.idempotent === true).map((o) => o.name).sort(), ['agent.spawn', 'backlog.add', 'message.send', 'task.assign']);
  assert.deepEqual(ops.filter((o) => o.longPoll === true).map((o) => o.name), ['message.next']);
});

test('input schemas enforce message kinds, heartbeat states, orphan actions, name pattern, tags', () => {
  const { byName } = harness();
  const pointers = (name: string, value: unknown) => validate(byName.get(name)!.input, value).map((e) => e.pointer);
  assert.deepEqual(pointers('message.send', { to: 'w', message: 'hi', kind: 'gossip' }), ['/kind']);
  assert.deepEqual(pointers('message.send', { to: 'w', message: 'hi', kind: 'task_done', urgent: true }), []);
  assert.deepEqual(pointers('message.send', { to: 'w' }), ['/message']);
  assert.deepEqual(pointers('agent.heartbeat', { agent: 'w', state: 'stopped' }), ['/state']);
  assert.deepEqual(pointers('agent.heartbeat', { agent: 'w' }), []);
  assert.deepEqual(pointers('recovery.orphan_tasks', { action: 'nuke' }), ['/action']);
  assert.deepEqual(pointers('agent.spawn', { name: 'bad name!' }), ['/name']);
  assert.deepEqual(pointers('agent.spawn', { name: 'x'.repeat(65) }), ['/name']);
  assert.deepEqual(pointers('agent.spawn', { name: 'ok.name_1-2' }), []);
  assert.deepEqual(pointers('backlog.add', { description: '' }), ['/description']);
  assert.deepEqual(pointers('backlog.add', { description: 'x', tags: Array(33).fill('t') }), ['/tags']);
  assert.deepEqual(pointers('backlog.add', { description: 'x', tags: [''] }), ['/tags/0']);
  assert.deepEqual(pointers('backlog.add', { description: 'x'.repeat(64 * 1024 + 1) }), ['/description']);
  assert.deepEqual(pointers('task.complete', { task_id: 't' }), ['/result']);
  assert.deepEqual(pointers('message.next', { agent: 'w', wait: 31 }), ['/wait']);
});

test('every operation answers inside its declared output schema', async () => {
  const { call, ops, outputs } = harness();
  const w = await call('agent.spawn', { name: 'w' });
  await call('agent.spawn', { name: 'v', cli: 'codex', role_id: 'reviewer', nickname: 'Vee', parent_agent_id: 'w' });
  await call('agent.heartbeat', { agent: 'w', state: 'idle' });
  await call('agent.get', { agent: w.agent_id });
  await call('agent.list', { limit: 1 });
  const added = await call('backlog.add', { description: 'job', tags: ['x'] });
  await call('backlog.add', { description: 'job 2' });
  await call('backlog.add', { description: 'job 3' });
  await call('backlog.list');
  await call('backlog.claim', { task_id: added.task_id, agent: 'w' });
  const third = (await call('backlog.list')).backlog[1].task_id;
  await call('backlog.remove', { task_id: third });
  await call('backlog.assign_all', { agent: 'v' });
  const assigned = await call('task.assign', { agent: 'w', task: 'do it' });
  await call('task.list', { state: 'assigned', agent: 'w', tag: 'x' });
  await call('task.list_pending');
  await call('task.start', { task_id: assigned.task_id });
  await call('task.get', { task_id: assigned.task_id });
  await call('task.complete', { task_id: assigned.task_id, result: 'done' });
  await call('task.fail', { task_id: added.task_id, error: 'nope' });
  await call('message.send', { to: 'w', message: 'hi', urgent: true, from: 'v', kind: 'info' });
  await call('message.inbox', { agent: 'w' });
  await call('message.next', { agent: 'w' });
  await call('message.next', { agent: 'supervisor' });
  await call('message.next', { agent: 'nobody-waits', wait: 0 }).catch(() => undefined);
  await call('town.get_status');
  await call('town.get_info');
  await call('town.get_scaling');
  await call('agent.kill', { agent: 'v' });
  await call('recovery.reclaim_tasks', { to_backlog: true, from: 'v' });
  await call('recovery.orphan_tasks', { action: 'list' });
  await call('recovery.recover_agents');
  await call('agent.restart', { agent: 'v' });
  await call('agent.prune', { all: true });
  const missing = ops.filter((o) => !outputs.has(o.name)).map((o) => o.name);
  assert.deepEqual(missing, [], 'every operation was exercised');
});

test('invoke: scope denied before anything runs, audited as denied with the operation name', async () => {
  const { invoker, byName, audit, options, store } = harness();
  const err = await failure(invoker.invoke({ id: 'reader', scopes: ['town.read'] }, byName.get('agent.spawn')!, { name: 'x' }, options()));
  assert.equal(err.code, 'scope.denied');
  assert.equal(err.extras.required_scope, 'agent.manage');
  assert.equal(await store.read((tx) => tx.count('agents')), 0);
  assert.equal(audit.length, 1);
  assert.deepEqual([audit[0]!.operation, audit[0]!.result, audit[0]!.reason, audit[0]!.principal], ['agent.spawn', 'denied', 'insufficient_scope', 'reader']);
});

test('invoke: input checked once, nulls mean absent; reads are not audited, mutations are', async () => {
  const { invoker, byName, audit, options, call } = harness();
  const bad = await failure(invoker.invoke({ id: 'a', scopes: ['admin'] }, byName.get('backlog.add')!, { tags: 'x' }, options()));
  assert.equal(bad.code, 'input.invalid');
  assert.deepEqual(bad.extras.errors?.map((e) => e.pointer), ['/description', '/tags']);
  await call('agent.spawn', { name: 'n', cli: null });
  await call('agent.list');
  assert.deepEqual(audit.map((e) => [e.operation, e.result, e.transport]), [['backlog.add', 'error', 'local'], ['agent.spawn', 'success', 'local']]);
});

test('invoke: an idempotency key replays the first answer and creates nothing new; other input is a mismatch', async () => {
  const { invoker, byName, options, store } = harness();
  const op = byName.get('backlog.add')!;
  const who = { id: 'k1', scopes: ['admin'] as const };
  const first = await invoker.invoke({ ...who, scopes: [...who.scopes] }, op, { description: 'once' }, options({ idempotencyKey: 'abc' }));
  const again = await invoker.invoke({ ...who, scopes: [...who.scopes] }, op, { description: 'once' }, options({ idempotencyKey: 'abc' }));
  assert.equal(first.replayed, false);
  assert.equal(again.replayed, true);
  assert.deepEqual(again.output, first.output);
  assert.equal(await store.read((tx) => tx.count('tasks')), 1);
  const mismatch = await failure(invoker.invoke({ id: 'k1', scopes: ['admin'] }, op, { description: 'other' }, options({ idempotencyKey: 'abc' })));
  assert.equal(mismatch.code, 'idempotency.mismatch');
  // Another principal's key is its own.
  const other = await invoker.invoke({ id: 'k2', scopes: ['admin'] }, op, { description: 'once' }, options({ idempotencyKey: 'abc' }));
  assert.equal(other.replayed, false);
  assert.equal(await store.read((tx) => tx.count('tasks')), 2);
});

test('invoke: concurrent retries with one key run the work once', async () => {
  const { invoker, byName, options, store } = harness();
  const op = byName.get('agent.spawn')!;
  const results = await Promise.all(
    Array.from({ length: 5 }, () => invoker.invoke({ id: 'k', scopes: ['admin'] }, op, { name: 'solo' }, options({ idempotencyKey: 'same' }))),
  );
  assert.equal(results.filter((r) => !r.replayed).length, 1);
  assert.equal(new Set(results.map((r) => JSON.stringify(r.output))).size, 1);
  assert.equal(await store.read((tx) => tx.count('agents')), 1);
});

test('invoke: a refused idempotent call replays its refusal', async () => {
  const { invoker, byName, options } = harness();
  const op = byName.get('task.assign')!;
  const first = await failure(invoker.invoke({ id: 'k', scopes: ['admin'] }, op, { agent: 'ghost', task: 't' }, options({ idempotencyKey: 'r' })));
  const again = await failure(invoker.invoke({ id: 'k', scopes: ['admin'] }, op, { agent: 'ghost', task: 't' }, options({ idempotencyKey: 'r' })));
  assert.deepEqual([first.code, again.code], ['agent.not_found', 'agent.not_found']);
});

test('message.next long-polls on the signal: an abort ends it with null', async () => {
  const { call, town } = harness();
  await call('agent.spawn', { name: 'w' });
  const ac = new AbortController();
  const p = call('message.next', { agent: 'w', wait: 30 }, { signal: () => ac.signal });
  setTimeout(() => ac.abort(), 20);
  assert.equal(await p, null);
  assert.equal(town.waiting(), 0);
});

void (null as unknown as AnyOperation);
