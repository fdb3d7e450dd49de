// The town's read routes (town.read) and the public scaling hint.
import { readPageQuery } from '../town/pagination.js';
import { MAX_NAME_LENGTH, TASK_STATES } from '../town/records.js';
import type { Town } from '../town/town.js';
import type { RequestContext, RouteDef } from './route.js';
import { AGENT_404, agentRef, ok, pageQuery, param } from './town-route-parts.js';

export function townReadRoutes(town: Town): RouteDef[] {
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


    // --- public ---
    {
      method: 'GET', path: '/api/scaling', access: 'public', summary: 'Scaling hint for autoscalers',
      success: { 200: 'Queue depth, task and agent counts, desired agents and a recommendation.' },
      handler: async () => ok(await town.scaling()),
    },
  ];
}
