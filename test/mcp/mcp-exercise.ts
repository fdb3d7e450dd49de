// One walk through every tool, resource and prompt, run by the HTTP and both
// stdio tests against a fresh town (names `alice` and `bob` must be free).
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

/** The town's tools (every transport). */
export const TOWN_TOOLS = [
  'town.get_status', 'town.get_info', 'town.get_scaling',
  'agent.list', 'agent.get', 'agent.spawn', 'agent.heartbeat', 'agent.kill', 'agent.restart', 'agent.prune',
  'task.assign', 'task.list', 'task.list_pending', 'task.get', 'task.start', 'task.complete', 'task.fail',
  'backlog.list', 'backlog.add', 'backlog.claim', 'backlog.assign_all', 'backlog.remove',
  'message.send', 'message.inbox', 'message.next',
  'recovery.recover_agents', 'recovery.reclaim_tasks', 'recovery.orphan_tasks',
];
/** The server's admin tools (not in the local stdio mode, which has no server to reload). */
export const ADMIN_TOOLS = ['admin.list_keys', 'admin.reload'];
export const ALL_TOOLS = [...TOWN_TOOLS, ...ADMIN_TOOLS];

/** The text of a tool result's first content block, parsed as JSON. */
export function textJson(result: unknown): any {
  const content = (result as { content: Array<{ type: string; text: string }> }).content;
  return JSON.parse(content[0]!.text);
}

/** Calls every tool once with an admin client; returns the names called, sorted. */
export async function callEveryTool(client: Client): Promise<string[]> {
  const called = new Set<string>();
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<any> => {
    const r = await client.callTool({ name, arguments: args });
    assert.notEqual(r.isError, true, `${name}: ${JSON.stringify(r.content)}`);
    assert.ok(r.structuredContent, name);
    assert.deepEqual(textJson(r), r.structuredContent, `${name}: text block is the same JSON`);
    called.add(name);
    return r.structuredContent;
  };
  assert.equal(typeof (await call('town.get_status')).auth_mode, 'string');
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
  if ((await client.listTools()).tools.some((t) => t.name === 'admin.reload')) {
    assert.ok((await call('admin.list_keys')).count >= 1);
    assert.equal((await call('admin.reload')).status, 'reloaded');
  }
  return [...called].sort();
}

/** Reads every resource and template (after callEveryTool). */
export async function readEveryResource(client: Client): Promise<void> {
  const { resources } = await client.listResources();
  assert.deepEqual(resources.map((r) => r.uri).sort(), ['tinytown://agents', 'tinytown://backlog', 'tinytown://town/current']);
  const { resourceTemplates } = await client.listResourceTemplates();
  assert.deepEqual(resourceTemplates.map((r) => r.uriTemplate).sort(), ['tinytown://agents/{agent_name}', 'tinytown://tasks/{task_id}']);
  const read = async (uri: string): Promise<any> => {
    const r = await client.readResource({ uri });
    assert.equal(r.contents[0]!.uri, uri);
    assert.equal(r.contents[0]!.mimeType, 'application/json');
    return JSON.parse((r.contents[0] as { text: string }).text);
  };
  assert.equal(typeof (await read('tinytown://town/current')).uptime_secs, 'number');
  assert.ok((await read('tinytown://agents')).agents.some((a: any) => a.name === 'alice'));
  const backlog = await read('tinytown://backlog');
  assert.ok(Array.isArray(backlog.backlog));
  assert.equal((await read('tinytown://agents/alice')).name, 'alice');
  // Any task, not only backlog ones: alice's completed task.
  const done = (await client.callTool({ name: 'task.list', arguments: { state: 'completed' } })).structuredContent as any;
  assert.equal((await read(`tinytown://tasks/${encodeURIComponent(done.tasks[0].task_id)}`)).state, 'completed');
  await assert.rejects(client.readResource({ uri: 'tinytown://agents/nobody' }), (e: unknown) => e instanceof McpError && e.code === -32002);
  await assert.rejects(client.readResource({ uri: 'tinytown://nothing' }), (e: unknown) => e instanceof McpError && e.code === -32002);
}

/** Gets both prompts (after callEveryTool). */
export async function getBothPrompts(client: Client): Promise<void> {
  const { prompts } = await client.listPrompts();
  assert.deepEqual(prompts.map((p) => p.name).sort(), ['agent.role_hint', 'conductor.startup_context']);
  const ctx = await client.getPrompt({ name: 'conductor.startup_context' });
  const text = (ctx.messages[0]!.content as { text: string }).text;
  assert.match(text, /^# Town "/);
  assert.match(text, /\*\*alice\*\*/);
  assert.match(text, /`agent.spawn`/);
  const hint = await client.getPrompt({ name: 'agent.role_hint', arguments: { agent_name: 'alice', tags: 'docs, tests' } });
  const hintText = (hint.messages[0]!.content as { text: string }).text;
  assert.match(hintText, /You are \*\*alice\*\*/);
  assert.match(hintText, /`docs`, `tests`/);
  await assert.rejects(client.getPrompt({ name: 'agent.role_hint', arguments: {} }), (e: unknown) => e instanceof McpError && e.code === -32602);
}
