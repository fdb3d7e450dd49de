// admin.reload and admin.list_keys: scope admin, answers that conform to
// their declared output schemas, and a refused reload as config.reload_failed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpError } from '../../src/errors.js';
import { ADMIN_BINDINGS } from '../../src/http/http-bindings.js';
import { adminOperations } from '../../src/operations/admin-operations.js';
import type { OperationContext } from '../../src/operations/operation.js';
import { validate } from '../../src/operations/schema.js';

const ctx = { principal: { id: 'ops', scopes: ['admin'] }, requestId: 'r', transport: 'local', signal: new AbortController().signal, commit: undefined } as OperationContext;
const key = { id: 'ci', scopes: ['town.read'], expires_at: '2027-01-01T00:00:00.000Z', disabled: false, last_used_at: null };

test('admin operations: scope admin, bound once each, outputs match their schemas', async () => {
  const triggers: string[] = [];
  const ops = adminOperations({ reload: async (t) => (triggers.push(t), { ok: true, keys: 2, warnings: ['w'] }), keys: () => [key] });
  assert.deepEqual(ops.map((o) => [o.name, o.scope, o.mutates]), [['admin.reload', 'admin', true], ['admin.list_keys', 'admin', false]]);
  assert.deepEqual(ADMIN_BINDINGS.map((b) => b.operation).sort(), ops.map((o) => o.name).sort());
  for (const op of ops) {
    const out = await op.run(ctx, {} as never);
    assert.deepEqual(validate(op.output, out), [], op.name);
  }
  assert.deepEqual(triggers, ['admin.reload by ops over local']);
});

test('a refused reload is config.reload_failed with the reason', async () => {
  const [reload] = adminOperations({ reload: async () => ({ ok: false, error: '[townhall] bind changed' }), keys: () => [] });
  await assert.rejects(async () => reload!.run(ctx, {} as never), (e: unknown) => e instanceof OpError && e.code === 'config.reload_failed' && e.detail.endsWith('[townhall] bind changed'));
});
