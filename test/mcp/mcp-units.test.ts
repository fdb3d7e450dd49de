// The MCP building blocks alone: sessions (bound, expiring, owned), the
// Origin guard, JSON-RPC classification, Tinytown aliases, stdio lines.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { OpError } from '../../src/errors.js';
import { classifyMessage, classifyPayload } from '../../src/mcp/json-rpc.js';
import { isAllowedOrigin } from '../../src/mcp/origin-check.js';
import { negotiateProtocolVersion } from '../../src/mcp/protocol-version.js';
import { createSessionTable } from '../../src/mcp/sessions.js';
import { readLines } from '../../src/mcp/stdio-lines.js';
import { renameFieldErrors, resolveAliases } from '../../src/mcp/tinytown-aliases.js';

describe('session table', () => {
  test('sessions expire after the idle timeout, and touching one keeps it', () => {
    let now = 0;
    const t = createSessionTable({ clock: { now: () => now }, maxSessions: 10, maxPerPrincipal: 10, idleTimeoutMs: 1000 });
    const a = t.create('p', '2025-06-18')!;
    const b = t.create('p', '2025-06-18')!;
    now = 900;
    assert.ok(t.find(a.id, 'p'));
    now = 1500;
    assert.ok(t.find(a.id, 'p'), 'touched at 900');
    assert.equal(t.find(b.id, 'p'), undefined, 'idle since 0');
    assert.equal(t.size, 1);
  });

  test('a full table refuses new sessions rather than evicting live ones, until some expire', () => {
    let now = 0;
    const t = createSessionTable({ clock: { now: () => now }, maxSessions: 2, maxPerPrincipal: 2, idleTimeoutMs: 1000 });
    assert.ok(t.create('p', 'v'));
    assert.ok(t.create('q', 'v'));
    assert.equal(t.create('r', 'v'), null);
    now = 1000;
    assert.ok(t.create('r', 'v'));
  });

  test("a principal over its own cap displaces its least recently used session, not another's", () => {
    let now = 0;
    const t = createSessionTable({ clock: { now: () => now }, maxSessions: 4, maxPerPrincipal: 2, idleTimeoutMs: 10_000 });
    const other = t.create('other', 'v')!;
    const a = t.create('p', 'v')!;
    now = 1;
    const b = t.create('p', 'v')!;
    now = 2;
    assert.ok(t.find(a.id, 'p'), 'a is now the most recently used');
    const c = t.create('p', 'v')!;
    assert.ok(c);
    assert.equal(t.find(b.id, 'p'), undefined, 'b was the least recently used');
    assert.ok(t.find(a.id, 'p'));
    assert.ok(t.find(other.id, 'other'));
    assert.equal(t.size, 3);
  });

  test('a session is found and ended only by its own principal', () => {
    const t = createSessionTable({ clock: { now: () => 0 }, maxSessions: 5, maxPerPrincipal: 5, idleTimeoutMs: 1000 });
    const s = t.create('owner', 'v')!;
    assert.match(s.id, /^[0-9a-f-]{36}$/);
    assert.equal(t.find(s.id, 'other'), undefined);
    assert.equal(t.end(s.id, 'other'), false);
    assert.equal(t.end(s.id, 'owner'), true);
    assert.equal(t.find(s.id, 'owner'), undefined);
  });
});

describe('Origin guard', () => {
  const policy = { ownHosts: ['townhall.internal'] };
  for (const [origin, ok] of [
    [undefined, true],
    ['http://localhost:5173', true],
    ['https://127.0.0.1', true],
    ['http://127.1.2.3:80', true],
    ['http://[::1]:3000', true],
    ['http://app.localhost', true],
    ['https://townhall.internal:8443', true],
    ['https://evil.example', false],
    ['http://localhost.evil.example', false],
    ['http://127.0.0.1.evil.example', false],
    ['null', false],
    ['file://', false],
    ['not a url', false],
  ] as const) {
    test(`${String(origin)} -> ${ok ? 'allowed' : 'refused'}`, () => assert.equal(isAllowedOrigin(origin, policy), ok));
  }
  test('several Origin headers are refused', () => assert.equal(isAllowedOrigin(['http://localhost', 'http://evil.example'], policy), false));
});

describe('JSON-RPC classification', () => {
  test('requests, notifications, responses and invalid messages', () => {
    assert.equal(classifyMessage({ jsonrpc: '2.0', id: 1, method: 'ping' }).kind, 'request');
    assert.equal(classifyMessage({ jsonrpc: '2.0', method: 'notifications/initialized' }).kind, 'notification');
    assert.equal(classifyMessage({ jsonrpc: '2.0', id: 1, result: {} }).kind, 'response');
    for (const bad of [null, 5, { id: 1, method: 'x' }, { jsonrpc: '2.0', id: null, method: 'x' }, { jsonrpc: '2.0', id: 1, method: 7 }, { jsonrpc: '2.0', id: true, method: 'x' }]) {
      const m = classifyMessage(bad);
      assert.equal(m.kind, 'invalid', JSON.stringify(bad));
      assert.equal(m.kind === 'invalid' && m.code, -32600);
    }
    const params = classifyMessage({ jsonrpc: '2.0', id: 'a', method: 'x', params: [1] });
    assert.deepEqual(params, { kind: 'invalid', id: 'a', code: -32602, message: 'The "params" member must be an object.' });
  });

  test('batches are bounded and never empty', () => {
    assert.equal(classifyPayload([], 3).kind, 'invalid');
    assert.equal(classifyPayload([1, 2, 3, 4], 3).kind, 'invalid');
    assert.equal(classifyPayload([{ jsonrpc: '2.0', method: 'a' }], 3).kind, 'batch');
  });

  test('protocol version negotiation answers the client\'s when supported, else ours', () => {
    assert.equal(negotiateProtocolVersion('2025-03-26'), '2025-03-26');
    assert.equal(negotiateProtocolVersion('2099-01-01'), '2025-06-18');
    assert.equal(negotiateProtocolVersion(undefined), '2025-06-18');
  });
});

describe('Tinytown aliases', () => {
  test('aliases are renamed, clashes refused, and errors named back', () => {
    const { input, used } = resolveAliases('recovery.reclaim_tasks', { to_agent: 'a', from_agent: 'b', to_backlog: false });
    assert.deepEqual({ ...input }, { to: 'a', from: 'b', to_backlog: false });
    assert.throws(() => resolveAliases('task.assign', { task: 'x', description: 'y' }), (e: unknown) => e instanceof OpError && e.code === 'input.invalid');
    const renamed = renameFieldErrors(new OpError('input.invalid', 'bad', { errors: [{ pointer: '/to', message: 'is required' }] }), used);
    assert.deepEqual(renamed.extras.errors, [{ pointer: '/to_agent', message: 'is required' }]);
    assert.deepEqual(resolveAliases('agent.spawn', { name: 'x' }).input, { name: 'x' });
  });
});

describe('stdio lines', () => {
  test('splits lines across chunks and skips an over-long one without buffering it', async () => {
    const input = new PassThrough();
    const lines: string[] = [];
    let tooLong = 0;
    const done = readLines(input, 10, { line: (l) => lines.push(l), tooLong: () => tooLong++ });
    input.write('{"a"');
    input.write(':1}\r\n\n');
    input.write('x'.repeat(8));
    input.write('y'.repeat(8));
    input.write('z\nok\n');
    input.end('last');
    await done;
    assert.deepEqual(lines, ['{"a":1}', 'ok', 'last']);
    assert.equal(tooLong, 1);
  });
});
