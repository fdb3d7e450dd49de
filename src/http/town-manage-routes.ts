// The town's management routes (agent.manage): agents' lifecycle, recovery and reclaim.
import { MAX_NAME_LENGTH } from '../town/records.js';
import { ORPHAN_ACTIONS, type OrphanAction } from '../town/recovery.js';
import type { Town } from '../town/town.js';
import type { RouteDef } from './route.js';
import { AGENT_404, agentRef, bodyOf, created, name, ok, param } from './town-route-parts.js';

export function townManageRoutes(town: Town): RouteDef[] {
  return [
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
  ];
}
