// The town's route table: every endpoint of the agents/tasks/backlog/messages
// API, declared once with its scope, body schema, query parameters, errors
// and success statuses. The router, the authorizer, the body validator and
// /openapi.json all read these declarations; handlers only translate the
// request into one Town call and its answer into a status and body.
//
// Security: body schemas are strict (unknown fields are rejected) and bound
// every string; query parameters are parsed here with their own bounds.
import { invalidQuery, type ErrorCode } from '../errors.js';
import { readPageQuery } from '../town/pagination.js';
import {
  AGENT_NAME_PATTERN,
  HEARTBEAT_STATES,
  MAX_NAME_LENGTH,
  MAX_TAGS,
  MAX_TEXT_BYTES,
  MESSAGE_KINDS,
  TASK_STATES,
  type HeartbeatState,
  type MessageKind,
} from '../town/records.js';
import { ORPHAN_ACTIONS, type OrphanAction } from '../town/recovery.js';
import type { Town } from '../town/town.js';
import type { RequestContext, RouteDef } from './route.js';
import type { Schema } from './schema.js';

export const MAX_WAIT_SECS = 30;

const name: Schema = { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH, pattern: AGENT_NAME_PATTERN, description: 'Letters, digits, ".", "_" and "-".' };
/** An agent named by name or id (ids are UUIDs, well under the name limit). */
const agentRef: Schema = { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH, description: 'An agent name or id.' };
const text = (description: string): Schema => ({ type: 'string', minLength: 1, maxBytes: MAX_TEXT_BYTES, description });
const anyText = (description: string): Schema => ({ type: 'string', maxBytes: MAX_TEXT_BYTES, description });

const pageQuery: Readonly<Record<string, Schema>> = {
  limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'Items per page (default 100).' },
  cursor: { type: 'string', maxLength: 128, description: 'The `next_cursor` of the previous page.' },
};

const AGENT_404: ErrorCode[] = ['town.agent_not_found'];

function param(ctx: RequestContext, key: string): string {
  return ctx.params[key] ?? '';
}

function bodyOf<T>(ctx: RequestContext): Partial<T> {
  return (ctx.body ?? {}) as Partial<T>;
}

/** `?wait=N`: whole seconds, 0 to 30. */
export function readWait(query: URLSearchParams): number {
  const raw = query.get('wait');
  if (raw === null) return 0;
  if (!/^[0-9]{1,2}$/.test(raw) || Number(raw) > MAX_WAIT_SECS) {
    throw invalidQuery([{ pointer: '/wait', message: `must be an integer from 0 to ${MAX_WAIT_SECS}` }]);
  }
  return Number(raw);
}

export function townRoutes(town: Town): RouteDef[] {
  const ok = (body: unknown) => ({ status: 200, body });
  const created = (body: unknown) => ({ status: 201, body });
  const inbox = async (ctx: RequestContext) => ok(await town.inbox(param(ctx, 'agent'), readPageQuery(ctx.query)));

  return [
    // --- town.read ---
    {
      method: 'GET', path: '/v1/town', access: 'town.read', summary: 'Town name and settings',
      success: { 200: 'The town.' },
      handler: () => ok(town.info()),
    },
    {
      method: 'GET', path: '/v1/agents', access: 'town.read', summary: 'List agents',
      query: pageQuery, success: { 200: '`{agents, count, total, next_cursor}`.' },
      handler: async (ctx) => ok(await town.listAgents(readPageQuery(ctx.query))),
    },
    {
      method: 'GET', path: '/v1/agents/{agent}', access: 'town.read', summary: 'Get an agent by name or id',
      errors: AGENT_404, success: { 200: 'The agent.' },
      handler: async (ctx) => ok(await town.getAgent(param(ctx, 'agent'))),
    },
    {
      method: 'GET', path: '/v1/agents/{agent}/inbox', access: 'town.read', summary: "Read an agent's (or the supervisor's) inbox without consuming it",
      query: pageQuery, errors: AGENT_404, success: { 200: '`{agent, messages, count, total, urgent, next_cursor}`, urgent first.' },
      handler: inbox,
    },
    {
      method: 'POST', path: '/v1/agents/{agent}/inbox', access: 'town.read', summary: 'Read an inbox (POST form, read-only, for Tinytown clients)',
      query: pageQuery, errors: AGENT_404, success: { 200: '`{agent, messages, count, total, urgent, next_cursor}`, urgent first.' },
      handler: inbox,
    },
    {
      method: 'GET', path: '/v1/tasks', access: 'town.read', summary: 'List tasks, filtered by state, agent or tag',
      query: {
        ...pageQuery,
        state: { type: 'string', enum: TASK_STATES },
        agent: { ...agentRef },
        tag: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH },
      },
      errors: AGENT_404, success: { 200: '`{tasks, count, total, next_cursor}`.' },
      handler: async (ctx) =>
        ok(await town.listTasks({ state: ctx.query.get('state'), agent: ctx.query.get('agent'), tag: ctx.query.get('tag') }, readPageQuery(ctx.query))),
    },
    {
      method: 'GET', path: '/v1/tasks/pending', access: 'town.read', summary: 'Tasks assigned to an agent and not started',
      query: pageQuery, success: { 200: '`{tasks, count, total, next_cursor}`.' },
      handler: async (ctx) => ok(await town.listPendingTasks(readPageQuery(ctx.query))),
    },
    {
      method: 'GET', path: '/v1/tasks/{task_id}', access: 'town.read', summary: 'Get a task',
      errors: ['town.task_not_found'], success: { 200: 'The task.' },
      handler: async (ctx) => ok(await town.getTask(param(ctx, 'task_id'))),
    },
    {
      method: 'GET', path: '/v1/backlog', access: 'town.read', summary: 'List the backlog in order',
      query: pageQuery, success: { 200: '`{backlog, count, total, next_cursor}`.' },
      handler: async (ctx) => ok(await town.listBacklog(readPageQuery(ctx.query))),
    },

    // --- town.write ---
    {
      method: 'POST', path: '/v1/tasks/assign', access: 'town.write', summary: 'Create a task and assign it to an agent',
      body: { type: 'object', properties: { agent: agentRef, task: text('The task description.') }, required: ['agent', 'task'] },
      errors: [...AGENT_404, 'town.agent_state'], success: { 201: 'The task, with `task_id`, `agent_id`, `agent_name`.' }, idempotent: true,
      handler: async (ctx) => {
        const b = bodyOf<{ agent: string; task: string }>(ctx);
        return created(await town.assignTask(b.agent ?? '', b.task ?? ''));
      },
    },
    {
      method: 'POST', path: '/v1/backlog', access: 'town.write', summary: 'Add a task to the backlog',
      body: {
        type: 'object',
        properties: {
          description: text('The task description.'),
          tags: { type: 'array', maxItems: MAX_TAGS, items: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH } },
        },
        required: ['description'],
      },
      success: { 201: 'The task, with `task_id`.' }, idempotent: true,
      handler: async (ctx) => {
        const b = bodyOf<{ description: string; tags: string[] | null }>(ctx);
        return created(await town.addBacklog({ description: b.description ?? '', tags: b.tags ?? null }));
      },
    },
    {
      method: 'POST', path: '/v1/backlog/{task_id}/claim', access: 'town.write', summary: 'Claim a backlog task for an agent',
      body: { type: 'object', properties: { agent: agentRef }, required: ['agent'] },
      errors: ['town.task_not_found', ...AGENT_404, 'town.not_in_backlog', 'town.agent_state'],
      success: { 200: 'The task, with `task_id`, `agent_id`, `agent_name`.' },
      handler: async (ctx) => ok(await town.claimTask(param(ctx, 'task_id'), bodyOf<{ agent: string }>(ctx).agent ?? '')),
    },
    {
      method: 'POST', path: '/v1/backlog/assign-all', access: 'town.write', summary: 'Assign every backlog task, in order, to one agent',
      body: { type: 'object', properties: { agent: agentRef }, required: ['agent'] },
      errors: [...AGENT_404, 'town.agent_state'], success: { 200: '`{assigned, tasks, agent_id, agent_name}`.' },
      handler: async (ctx) => ok(await town.assignAll(bodyOf<{ agent: string }>(ctx).agent ?? '')),
    },
    {
      method: 'DELETE', path: '/v1/backlog/{task_id}', access: 'town.write', summary: 'Remove a task from the backlog (it becomes cancelled)',
      errors: ['town.task_not_found', 'town.not_in_backlog'], success: { 200: 'The cancelled task, with `removed: true`.' },
      handler: async (ctx) => ok(await town.removeBacklog(param(ctx, 'task_id'))),
    },
    {
      method: 'POST', path: '/v1/messages/send', access: 'town.write', summary: 'Queue a message for an agent or the supervisor',
      body: {
        type: 'object',
        properties: {
          to: agentRef,
          message: text('The message body.'),
          kind: { type: 'string', enum: MESSAGE_KINDS, description: 'Default `task`.' },
          from: { ...agentRef, description: 'Sender name or id; default the supervisor.' },
          urgent: { type: 'boolean', description: 'Delivered before normal messages.' },
        },
        required: ['to', 'message'],
      },
      errors: AGENT_404, success: { 201: 'The message, with `message_id`.' }, idempotent: true,
      handler: async (ctx) => {
        const b = bodyOf<{ to: string; message: string; kind: MessageKind | null; from: string | null; urgent: boolean | null }>(ctx);
        return created(await town.sendMessage({ to: b.to ?? '', message: b.message ?? '', kind: b.kind ?? null, from: b.from ?? null, urgent: b.urgent ?? null }));
      },
    },

    // --- worker side, town.write ---
    {
      method: 'POST', path: '/v1/agents/{agent}/heartbeat', access: 'town.write', summary: 'Report that an agent is alive, optionally with its state',
      body: { type: 'object', properties: { state: { type: 'string', enum: HEARTBEAT_STATES } } },
      errors: [...AGENT_404, 'town.agent_state'], success: { 200: 'The agent.' },
      handler: async (ctx) => ok(await town.heartbeat(param(ctx, 'agent'), bodyOf<{ state: HeartbeatState | null }>(ctx).state ?? null)),
    },
    {
      method: 'POST', path: '/v1/agents/{agent}/inbox/next', access: 'town.write', summary: 'Take the next message (urgent first); `?wait=N` long-polls up to N seconds',
      query: { wait: { type: 'integer', minimum: 0, maximum: MAX_WAIT_SECS, description: 'Seconds to wait for a message (default 0).' } },
      errors: AGENT_404, success: { 200: 'The message, with `message_id`.', 204: 'No message arrived.' }, longPoll: true,
      handler: async (ctx) => {
        const waitSecs = readWait(ctx.query);
        const message = await town.nextMessage(param(ctx, 'agent'), { waitMs: waitSecs * 1000, signal: ctx.signal });
        return message === null ? { status: 204 } : ok(message);
      },
    },
    {
      method: 'POST', path: '/v1/tasks/{task_id}/start', access: 'town.write', summary: 'Start an assigned task',
      errors: ['town.task_not_found', 'town.task_state', 'town.agent_state'], success: { 200: 'The task, now running.' },
      handler: async (ctx) => ok(await town.startTask(param(ctx, 'task_id'))),
    },
    {
      method: 'POST', path: '/v1/tasks/{task_id}/complete', access: 'town.write', summary: 'Complete a task with its result',
      body: { type: 'object', properties: { result: anyText('What the task produced.') }, required: ['result'] },
      errors: ['town.task_not_found', 'town.task_state'], success: { 200: 'The task, now completed.' },
      handler: async (ctx) => ok(await town.completeTask(param(ctx, 'task_id'), bodyOf<{ result: string }>(ctx).result ?? '')),
    },
    {
      method: 'POST', path: '/v1/tasks/{task_id}/fail', access: 'town.write', summary: 'Fail a task with an error',
      body: { type: 'object', properties: { error: anyText('Why the task failed.') }, required: ['error'] },
      errors: ['town.task_not_found', 'town.task_state'], success: { 200: 'The task, now failed.' },
      handler: async (ctx) => ok(await town.failTask(param(ctx, 'task_id'), bodyOf<{ error: string }>(ctx).error ?? '')),
    },

    // --- agent.manage ---
    {
      method: 'POST', path: '/v1/agents', access: 'agent.manage', summary: 'Register (spawn) an agent',
      body: {
        type: 'object',
        properties: {
          name,
          cli: { ...name, description: 'Default: `default_cli` from tinytown.toml.' },
          role_id: { ...name, description: 'A role name.' },
          nickname: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH },
          parent_agent_id: { ...agentRef, description: 'The parent agent, by name or id.' },
        },
        required: ['name'],
      },
      errors: ['town.agent_exists', ...AGENT_404], success: { 201: 'The agent, with `agent_id`.' }, idempotent: true,
      handler: async (ctx) => {
        const b = bodyOf<{ name: string; cli: string | null; role_id: string | null; nickname: string | null; parent_agent_id: string | null }>(ctx);
        return created(
          await town.spawnAgent({ name: b.name ?? '', cli: b.cli ?? null, role_id: b.role_id ?? null, nickname: b.nickname ?? null, parent_agent_id: b.parent_agent_id ?? null }),
        );
      },
    },
    {
      method: 'POST', path: '/v1/agents/{agent}/kill', access: 'agent.manage', summary: 'Stop an agent and queue it a shutdown message',
      errors: AGENT_404, success: { 200: 'The agent, now stopped.' },
      handler: async (ctx) => ok(await town.killAgent(param(ctx, 'agent'))),
    },
    {
      method: 'POST', path: '/v1/agents/{agent}/restart', access: 'agent.manage', summary: 'Restart an agent (state idle)',
      errors: AGENT_404, success: { 200: 'The agent, now idle.' },
      handler: async (ctx) => ok(await town.restartAgent(param(ctx, 'agent'))),
    },
    {
      method: 'POST', path: '/v1/agents/prune', access: 'agent.manage', summary: 'Remove stopped and errored agents (or all)',
      body: { type: 'object', properties: { all: { type: 'boolean', description: 'Remove every agent.' } } },
      success: { 200: '`{removed, agents}`.' },
      handler: async (ctx) => ok(await town.pruneAgents(bodyOf<{ all: boolean | null }>(ctx).all === true)),
    },
    {
      method: 'POST', path: '/v1/recover', access: 'agent.manage', summary: 'Stop agents whose heartbeat is older than the timeout',
      success: { 200: '`{checked, recovered, agents}`.' },
      handler: async () => ok(await town.recover()),
    },
    {
      method: 'POST', path: '/v1/reclaim', access: 'agent.manage', summary: 'Move the unfinished work of stopped agents to the backlog or another agent',
      body: {
        type: 'object',
        properties: {
          to_backlog: { type: 'boolean' },
          to: { ...agentRef, description: 'Destination agent.' },
          from: { ...agentRef, description: 'Only this stopped or errored agent.' },
        },
      },
      errors: [...AGENT_404, 'town.agent_state'], success: { 200: '`{reclaimed, destination, tasks}`; without a destination it only lists.' },
      handler: async (ctx) => {
        const b = bodyOf<{ to_backlog: boolean | null; to: string | null; from: string | null }>(ctx);
        return ok(await town.reclaim({ to_backlog: b.to_backlog ?? null, to: b.to ?? null, from: b.from ?? null }));
      },
    },
    {
      method: 'POST', path: '/v1/reclaim/orphan-tasks', access: 'agent.manage', summary: 'List, re-queue or cancel tasks whose agent is gone or not running',
      body: { type: 'object', properties: { action: { type: 'string', enum: ORPHAN_ACTIONS } }, required: ['action'] },
      success: { 200: '`{action, count, tasks}`.' },
      handler: async (ctx) => ok(await town.orphanTasks((bodyOf<{ action: OrphanAction }>(ctx).action ?? 'list') as OrphanAction)),
    },

    // --- public ---
    {
      method: 'GET', path: '/api/scaling', access: 'public', summary: 'Scaling hint for autoscalers',
      success: { 200: 'Queue depth, task and agent counts, desired agents and a recommendation.' },
      handler: async () => ok(await town.scaling()),
    },
  ];
}
