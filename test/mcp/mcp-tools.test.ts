// Every tool, resource and prompt through the official SDK client over
// Streamable HTTP against the real server: results validate against each
// tool's outputSchema (the SDK checks), scopes filter and deny, invalid input
// and unknown tools answer as the spec says, and calls leave audit lines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { TestServer } from '../helpers/server.js';
import { ADMIN_KEY, connectHttp, mcpAudit, READER_KEY, startKeyedServer, textJson } from './mcp-fixture.js';

const ALL_TOOLS = [
  'town.get_status', 'town.get_info', 'town.get_scaling',
  'agent.list', 'agent.get', 'agent.spawn', 'agent.heartbeat', 'agent.kill', 'agent.restart', 'agent.prune',
  'task.assign', 'task.list', 'task.list_pending', 'task.get', 'task.start', 'task.complete', 'task.fail',
  'backlog.list', 'backlog.add', 'backlog.claim', 'backlog.assign_all', 'backlog.remove',
  'message.send', 'message.inbox', 'message.next',
  'recovery.recover_agents', 'recovery.reclaim_tasks', 'recovery.orphan_tasks',
];

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
    const called = new Set<string>();
    const call = async (name: string, args: Record<string, unknown> = {}): Promise<any> => {
      const r = await admin.callTool({ name, arguments: args });
      assert.notEqual(r.isError, true, `${name}: ${JSON.stringify(r.content)}`);
      assert.ok(r.structuredContent, name);
      assert.deepEqual(textJson(r), r.structuredContent, `${name}: text block is the same JSON`);
      called.add(name);
      return r.structuredContent;
    };
    assert.equal((await call('town.get_status')).auth_mode, 'api_key');
    assert.equal(typeof (await call('town.get_info')).default_cli, 'string');
    assert.equal(typeof (await call('town.get_scaling')).scaling_recommendation, 'string');
    const alice = await call('agent.spawn', { name: 'alice' });
    assert.equal(alice.name, 'alice');
    await call('agent.spawn', { name: 'bob' });
    assert.equal((await call('agent.list')).total, 2);
    assert.equal((await call('agent.get', { agent: 'alice' })).id, alice.agent_id);
    assert.equal((await call('agent.heartbeat', { agent: 'alice', state: 'idle' })).state, 'idle');
    // Tinytown's field name `description` for task.assign.
    const t1 = await call('task.assign', { agent: 'alice', description: 'write the docs' });
    assert.equal(t1.description, 'write the docs');
    assert.equal(t1.agent_name, 'alice');
    assert.ok((await call('task.list', { agent: 'alice' })).tasks.some((t: any) => t.task_id === t1.task_id));
    await call('task.list_pending');
    assert.equal((await call('task.get', { task_id: t1.task_id })).state, 'assigned');
    assert.equal((await call('task.start', { task_id: t1.task_id })).state, 'running');
    assert.equal((await call('task.complete', { task_id: t1.task_id, result: 'done' })).state, 'completed');
    const t2 = await call('task.assign', { agent: 'alice', task: 'a doomed task' });
    await call('task.start', { task_id: t2.task_id });
    assert.equal((await call('task.fail', { task_id: t2.task_id, error: 'no' })).state, 'failed');
    const b1 = await call('backlog.add', { description: 'first', tags: ['docs'] });
    const b2 = await call('backlog.add', { description: 'second' });
    const b3 = await call('backlog.add', { description: 'third' });
    assert.equal((await call('backlog.list')).total, 3);
    assert.equal((await call('backlog.claim', { task_id: b1.task_id, agent: 'bob' })).agent_name, 'bob');
    assert.equal((await call('backlog.remove', { task_id: b2.task_id })).removed, true);
    assert.deepEqual((await call('backlog.assign_all', { agent: 'bob' })).tasks, [b3.task_id]);
    const sent = await call('message.send', { to: 'alice', message: 'hello', urgent: true });
    assert.equal(sent.urgent, true);
    assert.ok((await call('message.inbox', { agent: 'alice' })).messages.some((m: any) => m.id === sent.message_id));
    const next = await call('message.next', { agent: 'alice' });
    assert.equal(next.result.message_id, sent.message_id, 'urgent first, wrapped as {result}');
    assert.equal((await call('agent.kill', { agent: 'bob' })).state, 'stopped');
    assert.equal(typeof (await call('recovery.recover_agents')).checked, 'number');
    // Tinytown's names `from_agent` (and `to_agent`) for recovery.reclaim_tasks.
    const reclaimed = await call('recovery.reclaim_tasks', { from_agent: 'bob', to_backlog: true });
    assert.equal(reclaimed.reclaimed, 2);
    assert.equal((await call('recovery.orphan_tasks', { action: 'list' })).action, 'list');
    await call('agent.kill', { agent: 'bob' });
    assert.equal((await call('agent.restart', { agent: 'bob' })).state, 'idle');
    await call('agent.kill', { agent: 'bob' });
    assert.deepEqual((await call('agent.prune')).agents, ['bob']);
    assert.deepEqual([...called].sort(), [...ALL_TOOLS].sort());
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
    const { resources } = await admin.listResources();
    assert.deepEqual(resources.map((r) => r.uri).sort(), ['tinytown://agents', 'tinytown://backlog', 'tinytown://town/current']);
    const { resourceTemplates } = await admin.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((r) => r.uriTemplate).sort(), ['tinytown://agents/{agent_name}', 'tinytown://tasks/{task_id}']);
    const read = async (uri: string): Promise<any> => {
      const r = await admin.readResource({ uri });
      assert.equal(r.contents[0]!.uri, uri);
      assert.equal(r.contents[0]!.mimeType, 'application/json');
      return JSON.parse((r.contents[0] as { text: string }).text);
    };
    assert.equal((await read('tinytown://town/current')).auth_mode, 'api_key');
    assert.ok((await read('tinytown://agents')).agents.some((a: any) => a.name === 'alice'));
    const backlog = await read('tinytown://backlog');
    assert.ok(Array.isArray(backlog.backlog));
    assert.equal((await read('tinytown://agents/alice')).name, 'alice');
    // Any task, not only backlog ones: alice's completed task.
    const done = (await admin.callTool({ name: 'task.list', arguments: { state: 'completed' } })).structuredContent as any;
    assert.equal((await read(`tinytown://tasks/${encodeURIComponent(done.tasks[0].task_id)}`)).state, 'completed');
    await assert.rejects(admin.readResource({ uri: 'tinytown://agents/nobody' }), (e: unknown) => e instanceof McpError && e.code === -32002);
    await assert.rejects(admin.readResource({ uri: 'tinytown://nothing' }), (e: unknown) => e instanceof McpError && e.code === -32002);
  });

  test('both prompts render from the town', async () => {
    const { prompts } = await admin.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name).sort(), ['agent.role_hint', 'conductor.startup_context']);
    const ctx = await admin.getPrompt({ name: 'conductor.startup_context' });
    const text = (ctx.messages[0]!.content as { text: string }).text;
    assert.match(text, /^# Town "/);
    assert.match(text, /\*\*alice\*\*/);
    assert.match(text, /`agent.spawn`/);
    const hint = await admin.getPrompt({ name: 'agent.role_hint', arguments: { agent_name: 'alice', tags: 'docs, tests' } });
    const hintText = (hint.messages[0]!.content as { text: string }).text;
    assert.match(hintText, /You are \*\*alice\*\*/);
    assert.match(hintText, /`docs`, `tests`/);
    await assert.rejects(admin.getPrompt({ name: 'agent.role_hint', arguments: {} }), (e: unknown) => e instanceof McpError && e.code === -32602);
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
