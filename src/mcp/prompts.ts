// MCP prompts, as Tinytown has them:
// - `conductor.startup_context`: markdown of the town, its agents, the
//   backlog and the tools the caller may use, to start a conductor session;
// - `agent.role_hint {agent_name, tags?}`: what an agent is and should do.
// Their content is read through the read operations (scopes and audit apply),
// so a caller without `town.read` neither sees nor gets them.
import type { Principal } from '../auth/principal.js';
import { hasScope } from '../auth/scopes.js';
import type { AnyOperation } from '../operations/operation.js';
import { RPC, RpcError } from './json-rpc.js';
import { requireOperations, type McpCaller } from './mcp-caller.js';
import type { ToolDescriptor } from './tool-catalog.js';

const PROMPTS = [
  {
    name: 'conductor.startup_context',
    title: 'Conductor start-up context',
    description: 'The town, its agents, the backlog and the tools you may use, as markdown, to start conducting.',
    arguments: [],
  },
  {
    name: 'agent.role_hint',
    title: 'Role hint for an agent',
    description: "What an agent is, what it holds and how it works with the town's tools.",
    arguments: [
      { name: 'agent_name', description: 'The agent, by name or id.', required: true },
      { name: 'tags', description: 'Comma-separated tags of the work it should focus on.', required: false },
    ],
  },
] as const;

const MAX_ARG_LENGTH = 1024;

interface PromptMessage {
  role: 'user';
  content: { type: 'text'; text: string };
}

export interface PromptCatalog {
  list(principal: Principal): Array<Record<string, unknown>>;
  get(caller: McpCaller, name: unknown, args: unknown, tools: readonly ToolDescriptor[]): Promise<{ description: string; messages: PromptMessage[] }>;
}

type Row = Record<string, unknown>;

function agentLine(a: Row): string {
  return `- **${String(a['name'])}** (${String(a['cli'])}): ${String(a['state'])}, ${String(a['tasks_completed'])} task(s) completed${a['current_task'] === null ? '' : `, working on ${String(a['current_task'])}`}`;
}

function taskLine(t: Row): string {
  const tags = (t['tags'] as string[]).length > 0 ? ` [${(t['tags'] as string[]).join(', ')}]` : '';
  return `- \`${String(t['task_id'])}\`${tags}: ${String(t['description'])}`;
}

function stringArg(args: Row, name: string, required: boolean): string | undefined {
  const v = args[name];
  if (v === undefined || v === null) {
    if (required) throw new RpcError(RPC.INVALID_PARAMS, `The prompt argument "${name}" is required.`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length > MAX_ARG_LENGTH) throw new RpcError(RPC.INVALID_PARAMS, `The prompt argument "${name}" must be a string of at most ${MAX_ARG_LENGTH} characters.`);
  return v;
}

export function createPromptCatalog(ops: ReadonlyMap<string, AnyOperation>): PromptCatalog {
  requireOperations(ops, ['town.get_status', 'agent.list', 'backlog.list', 'agent.get', 'task.list']);
  const op = (name: string): AnyOperation => ops.get(name)!;

  async function startupContext(caller: McpCaller, tools: readonly ToolDescriptor[]): Promise<string> {
    const status = (await caller.invoke(op('town.get_status'), {})) as Row;
    const agents = (await caller.invoke(op('agent.list'), { limit: 100 })) as { agents: Row[]; total: number };
    const backlog = (await caller.invoke(op('backlog.list'), { limit: 50 })) as { backlog: Row[]; total: number };
    return [
      `# Town "${String(status['name'])}"`,
      '',
      `Townhall ${String(status['version'])}. ${String(status['agents'])} agent(s), ${String(status['backlog'])} task(s) in the backlog.`,
      '',
      `## Agents (${agents.total})`,
      ...(agents.agents.length === 0 ? ['None yet: spawn one with `agent.spawn`.'] : agents.agents.map(agentLine)),
      '',
      `## Backlog (${backlog.total})`,
      ...(backlog.backlog.length === 0 ? ['Empty.'] : backlog.backlog.map(taskLine)),
      '',
      '## Tools you may use',
      ...tools.map((t) => `- \`${t.name}\`: ${t.title}`),
      '',
      'As the conductor: keep agents busy (assign or let them claim backlog tasks), watch their heartbeats, and recover stalled work.',
    ].join('\n');
  }

  async function roleHint(caller: McpCaller, agentName: string, tags: string[]): Promise<string> {
    const agent = (await caller.invoke(op('agent.get'), { agent: agentName })) as Row;
    const tasks = (await caller.invoke(op('task.list'), { agent: agentName, limit: 20 })) as { tasks: Row[] };
    const open = tasks.tasks.filter((t) => t['state'] === 'assigned' || t['state'] === 'running');
    return [
      `You are **${String(agent['name'])}**, an agent of this town (cli \`${String(agent['cli'])}\`${agent['role_id'] === null ? '' : `, role \`${String(agent['role_id'])}\``}), now ${String(agent['state'])}.`,
      '',
      tags.length > 0 ? `Focus on work tagged: ${tags.map((t) => `\`${t}\``).join(', ')}.` : 'Take the work you are given, or claim it from the backlog.',
      '',
      open.length === 0 ? 'You hold no open task.' : ['Your open tasks:', ...open.map(taskLine)].join('\n'),
      '',
      `Work loop: \`agent.heartbeat\` regularly; take messages with \`message.next\`; claim work with \`backlog.claim\`; ` +
        '`task.start` it, then `task.complete` with the result or `task.fail` with the reason; ask the supervisor with `message.send` (to `supervisor`).',
    ].join('\n');
  }

  return {
    list: (principal) => (hasScope(principal.scopes, 'town.read') ? PROMPTS.map((p) => ({ ...p, arguments: [...p.arguments] })) : []),
    async get(caller, name, rawArgs, tools) {
      const args = (typeof rawArgs === 'object' && rawArgs !== null && !Array.isArray(rawArgs) ? rawArgs : {}) as Row;
      const prompt = PROMPTS.find((p) => p.name === name);
      if (prompt === undefined) throw new RpcError(RPC.INVALID_PARAMS, 'No prompt has this name.');
      let text: string;
      if (prompt.name === 'conductor.startup_context') text = await startupContext(caller, tools);
      else {
        const agentName = stringArg(args, 'agent_name', true)!;
        const tags = (stringArg(args, 'tags', false) ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
        text = await roleHint(caller, agentName, tags);
      }
      return { description: prompt.description, messages: [{ role: 'user', content: { type: 'text', text } }] };
    },
  };
}
