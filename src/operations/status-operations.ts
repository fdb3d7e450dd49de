// Operations about the town as a whole: status, settings, scaling hint.
import type { AuthMode } from '../config/config.js';
import type { Town } from '../town/town.js';
import { defineOperation, type AnyOperation } from './operation.js';
import { arr, int, nullable, obj, record, str } from './schema.js';
import { agentFullSchema, agentStateCounts, countSchema, taskStateCounts, timeSchema } from './town-schemas.js';

const root = str({ description: "The town's directory." });
/** Tinytown's towns live on Redis; ours may (backend = "redis"). */
const redisUrl = nullable(str({ description: 'The Redis URL, password redacted; null when the town is not on Redis.' }));

export interface StatusDeps {
  version: string;
  authMode: AuthMode;
  /** Whole seconds since the server started. */
  uptimeSecs(): number;
}


export function statusOperations(town: Town, deps: StatusDeps): AnyOperation[] {
  return [
    defineOperation({
      name: 'town.get_status', summary: 'Server and town status', scope: 'town.read', mutates: false,
      input: obj({}),
      output: record({
        name: str(),
        root,
        redis_url: redisUrl,
        agent_count: countSchema,
        agents: arr(agentFullSchema, { description: 'Every agent (Tinytown: AgentFull).' }),
        version: str(),
        uptime_secs: countSchema,
        auth_mode: str({ enum: ['none', 'api_key', 'oidc', 'mtls'] }),
        agents_by_state: agentStateCounts,
        tasks_by_state: taskStateCounts,
        backlog: countSchema,
      }),
      run: async () => {
        const s = await town.summary();
        return {
          name: s.name,
          root: town.info().root,
          redis_url: town.info().redis_url,
          agent_count: s.agents,
          agents: s.agent_list,
          version: deps.version,
          uptime_secs: deps.uptimeSecs(),
          auth_mode: deps.authMode,
          agents_by_state: s.agents_by_state,
          tasks_by_state: s.tasks_by_state,
          backlog: s.backlog,
        };
      },
    }),
    defineOperation({
      name: 'town.get_info', summary: 'Town name and settings', scope: 'town.read', mutates: false,
      input: obj({}),
      output: record({ name: str(), root, redis_url: redisUrl, default_cli: str(), max_agents: countSchema, heartbeat_timeout_secs: countSchema }),
      run: () => town.info(),
    }),
    defineOperation({
      name: 'town.get_scaling', summary: 'Scaling hint for autoscalers', scope: 'public', mutates: false,
      description: 'Queue depth, task and agent counts, desired agents and a recommendation.',
      input: obj({}),
      output: record({
        town: str(),
        timestamp: timeSchema,
        queue_depth: countSchema,
        pending_tasks: countSchema,
        in_flight_tasks: countSchema,
        active_agents: countSchema,
        cold_agents: countSchema,
        desired_agents: countSchema,
        max_agents: int({ minimum: 0 }),
        scaling_recommendation: str({ enum: ['scale_up', 'steady', 'scale_down', 'scale_to_zero'] }),
      }),
      run: () => town.scaling(),
    }),
  ];
}
