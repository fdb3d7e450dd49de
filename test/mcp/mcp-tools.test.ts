// Every tool, resource and prompt through the official SDK client over
// Streamable HTTP against the real server: results validate against each
// tool's outputSchema (the SDK checks), scopes filter and deny, invalid input
// and unknown tools answer as the spec says, and calls leave audit lines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { TestServer } from '../helpers/server.js';
import { ADMIN_KEY, ALL_TOOLS, callEveryTool, connectHttp, getBothPrompts, mcpAudit, READER_KEY, readEveryResource, startKeyedServer, textJson } from './mcp-fixture.js';


describe('MCP tools, resources and prompts over Streamable HTTP', () => {
  let s: TestServer;
  let admin: Client;
  let reader: Client;
  before(async () => {
    s = await startKeyedServer();
    admin = await connectHttp(s.port, ADMIN_KEY);
    reader = await connectHttp(s.port, READER_KEY);
  });
  after(async () => {
    await admin.close();
    await reader.close();
    await s.close();
  });

  test('initialize negotiates 2025-06-18 and names the server', () => {
    assert.equal(admin.getServerVersion()?.name, 'townhall');
    assert.deepEqual(Object.keys(admin.getServerCapabilities() ?? {}).sort(), ['prompts', 'resources', 'tools']);
  });

  test('an admin lists every tool with schemas and annotations', async () => {
    const { tools } = await admin.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...ALL_TOOLS].sort());
    for (const t of tools) {
      assert.equal(t.inputSchema.type, 'object', t.name);
      assert.equal(t.outputSchema?.type, 'object', t.name);
      assert.equal(typeof t.title, 'string');
      assert.equal(typeof t.annotations?.readOnlyHint, 'boolean');
    }
    const kill = tools.find((t) => t.name === 'agent.kill')!;
    assert.deepEqual(kill.annotations, { title: kill.title, readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false });
    assert.equal(tools.find((t) => t.name === 'agent.list')!.annotations?.readOnlyHint, true);
    const next = tools.find((t) => t.name === 'message.next')!;
    assert.deepEqual(next.outputSchema?.required, ['result']);
    assert.match(JSON.stringify(tools.find((t) => t.name === 'task.assign')!.inputSchema), /Also accepted as \\"description\\"/);
  });

  test('every tool can be called and answers structured content matching its outputSchema', async () => {
    assert.deepEqual(await callEveryTool(admin), [...ALL_TOOLS].sort());
  });

  test('message.next with nothing waiting answers {result: null}', async () => {
    await admin.callTool({ name: 'agent.spawn', arguments: { name: 'quiet' } });
    const r = await admin.callTool({ name: 'message.next', arguments: { agent: 'quiet' } });
    assert.deepEqual(r.structuredContent, { result: null });
  });

  test('mutations through MCP are audited with the operation and transport', () => {
    const lines = mcpAudit(s.audit, 'agent.spawn');
    assert.ok(lines.length >= 2);
    const first = lines[0]!;
    assert.equal(first['principal'], 'ops');
    assert.equal(first['method'], 'POST');
    assert.equal(first['path'], '/mcp');
    assert.equal(first['status'], '200');
    assert.equal(first['result'], 'success');
  });

  test('every resource and template reads through its operation', async () => {
    await readEveryResource(admin);
  });

  test('both prompts render from the town', async () => {
    await getBothPrompts(admin);
  });

  test('a town.read key sees only read tools, and a write is a tool error naming the scope, audited as denied', async () => {
    const { tools } = await reader.listTools();
    assert.ok(tools.length > 0);
    for (const t of tools) assert.equal(t.annotations?.readOnlyHint, true, t.name);
    assert.ok(tools.some((t) => t.name === 'agent.list'));
    assert.ok(!tools.some((t) => t.name === 'agent.spawn'));
    const r = await reader.callTool({ name: 'agent.spawn', arguments: { name: 'mallory' } });
    assert.equal(r.isError, true);
    const body = textJson(r);
    assert.equal(body.error.code, 'scope.denied');
    assert.equal(body.error.required_scope, 'agent.manage');
    const denied = mcpAudit(s.audit, 'agent.spawn').find((f) => f['principal'] === 'reader');
    assert.ok(denied, 'a denial line');
    assert.equal(denied['result'], 'denied');
    assert.equal(denied['reason'], 'insufficient_scope');
    assert.equal((await admin.callTool({ name: 'agent.get', arguments: { agent: 'mallory' } })).isError, true, 'nothing was spawned');
  });

  test('invalid input is a tool error listing the fields, named as the client sent them', async () => {
    const r = await admin.callTool({ name: 'agent.spawn', arguments: { name: 5, extra: true } });
    assert.equal(r.isError, true);
    const body = textJson(r);
    assert.equal(body.error.code, 'input.invalid');
    assert.deepEqual(body.error.errors.map((e: any) => e.pointer).sort(), ['/extra', '/name']);
    const alias = textJson(await admin.callTool({ name: 'task.assign', arguments: { agent: 'alice', description: '' } }));
    assert.deepEqual(alias.error.errors.map((e: any) => e.pointer), ['/description']);
    const both = textJson(await admin.callTool({ name: 'task.assign', arguments: { agent: 'alice', description: 'a', task: 'b' } }));
    assert.equal(both.error.code, 'input.invalid');
    const missing = textJson(await admin.callTool({ name: 'agent.get', arguments: { agent: 'nobody' } }));
    assert.equal(missing.error.code, 'agent.not_found');
  });

  test('an unknown tool is JSON-RPC error -32602', async () => {
    await assert.rejects(admin.callTool({ name: 'agent.teleport', arguments: {} }), (e: unknown) => e instanceof McpError && e.code === -32602);
  });
});
