// The town's write routes (town.write): tasks, backlog, messages, and the worker side.
import { HEARTBEAT_STATES, MAX_NAME_LENGTH, MAX_TAGS, MESSAGE_KINDS, type HeartbeatState, type MessageKind } from '../town/records.js';
import type { Town } from '../town/town.js';
import type { RouteDef } from './route.js';
import { AGENT_404, agentRef, anyText, bodyOf, created, MAX_WAIT_SECS, ok, param, readWait, text } from './town-route-parts.js';

export function townWriteRoutes(town: Town): RouteDef[] {
  return [
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
  ];
}
