// Operations on agents: list, get, spawn, heartbeat, kill, restart, prune.
import { HEARTBEAT_STATES } from '../town/records.js';
import type { Town } from '../town/town.js';
import { defineOperation, type AnyOperation } from './operation.js';
import { arr, bool, int, obj, record, str } from './schema.js';
import { agentBriefSchema, agentPathRef, agentRef, agentSchema, agentWithId, name, page, pageFields } from './town-schemas.js';
import { extend } from './schema.js';

/** kill and restart also answer Tinytown's `{status, agent}` (`agent` echoes the path). */
const withStatus = <const S extends string>(status: S) =>
  extend(agentWithId, record({ status: str({ enum: [status] }), agent: str({ description: 'The agent reference as given.' }) }));
import { MAX_NAME_LENGTH } from '../town/records.js';

export function agentOperations(town: Town): AnyOperation[] {
  return [
    defineOperation({
      name: 'agent.list', summary: 'List agents', scope: 'town.read', mutates: false,
      input: obj({ ...pageFields }),
      output: record({ agents: arr(agentBriefSchema), ...page }, '`{agents, count, total, next_cursor}`.'),
      run: (_ctx, input) => town.listAgents(input),
    }),
    defineOperation({
      name: 'agent.get', summary: 'Get an agent by name or id', scope: 'town.read', mutates: false,
      input: obj({ agent: agentPathRef }, { required: ['agent'] }),
      output: agentSchema, errors: ['agent.not_found'],
      run: (_ctx, input) => town.getAgent(input.agent),
    }),
    defineOperation({
      name: 'agent.spawn', summary: 'Register (spawn) an agent', scope: 'agent.manage', mutates: true, idempotent: true,
      input: obj({
        name,
        cli: { ...name, description: 'Default: `default_cli` from tinytown.toml.' },
        role_id: { ...name, description: 'A role name.' },
        nickname: str({ minLength: 1, maxLength: MAX_NAME_LENGTH }),
        parent_agent_id: { ...agentRef, description: 'The parent agent, by name or id.' },
      }, { required: ['name'] }),
      output: agentWithId, errors: ['agent.exists', 'agent.not_found', 'agent.limit_reached'],
      run: (ctx, input) => town.spawnAgent(input, ctx.commit),
    }),
    defineOperation({
      name: 'agent.heartbeat', summary: 'Report that an agent is alive, optionally with its state', scope: 'town.write', mutates: true,
      input: obj({ agent: agentPathRef, state: str({ enum: HEARTBEAT_STATES }) }, { required: ['agent'] }),
      output: agentWithId, errors: ['agent.not_found', 'agent.state_conflict'],
      run: (_ctx, input) => town.heartbeat(input.agent, input.state ?? null),
    }),
    defineOperation({
      name: 'agent.kill', summary: 'Stop an agent and queue it a shutdown message', scope: 'agent.manage', mutates: true, destructive: true, repeatable: true,
      input: obj({ agent: agentPathRef }, { required: ['agent'] }),
      output: withStatus('stopped'), errors: ['agent.not_found'],
      run: async (_ctx, input) => ({ ...(await town.killAgent(input.agent)), status: 'stopped', agent: input.agent }),
    }),
    defineOperation({
      name: 'agent.restart', summary: 'Restart an agent (state idle)', scope: 'agent.manage', mutates: true, repeatable: true,
      input: obj({ agent: agentPathRef }, { required: ['agent'] }),
      output: withStatus('restarted'), errors: ['agent.not_found'],
      run: async (_ctx, input) => ({ ...(await town.restartAgent(input.agent)), status: 'restarted', agent: input.agent }),
    }),
    defineOperation({
      name: 'agent.prune', summary: 'Remove stopped and errored agents (or all)', scope: 'agent.manage', mutates: true, destructive: true, repeatable: true,
      input: obj({ all: bool({ description: 'Remove every agent.' }) }),
      output: record({ removed: int({ minimum: 0 }), agents: arr(str(), { description: 'Names of the removed agents.' }) }),
      run: (_ctx, input) => town.pruneAgents(input.all === true),
    }),
  ];
}
