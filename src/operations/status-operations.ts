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
  /**
   * The store's version when this process alone writes it and it has not
   * failed, else null (a store shared with other processes must be read
   * through, so the answer waits for what they wrote). See `statusAnswers`.
   */
  localVersion?: () => number | null;
}

type TownSummary = Awaited<ReturnType<Town['summary']>>;

/**
 * `town.get_status` answered without waiting when nothing changed: once a read
 * at store version V has resolved (so all V shows is durable), V's summary is
 * kept, and while the store is still at V the answer is built from it
 * synchronously. Versions never repeat (a rollback moves them on), so a
 * summary is never shown for a state it does not describe. The answer is a
 * frozen object, the same one for the same summary and uptime second, so a
 * transport may keep its serialization (the HTTP pipeline does).
 */
function statusAnswers(town: Town, deps: StatusDeps): () => Readonly<Record<string, unknown>> | Promise<Readonly<Record<string, unknown>>> {
  let known: { version: number; summary: TownSummary } | null = null;
  let last: { summary: TownSummary; uptime: number; output: Readonly<Record<string, unknown>> } | null = null;
  const answer = (s: TownSummary): Readonly<Record<string, unknown>> => {
    const uptime = deps.uptimeSecs();
    if (last !== null && last.summary === s && last.uptime === uptime) return last.output;
    const info = town.info();
    const output = Object.freeze({
      name: s.name,
      root: info.root,
      redis_url: info.redis_url,
      agent_count: s.agents,
      agents: s.agent_list,
      version: deps.version,
      uptime_secs: uptime,
      auth_mode: deps.authMode,
      agents_by_state: s.agents_by_state,
      tasks_by_state: s.tasks_by_state,
      backlog: s.backlog,
    });
    last = { summary: s, uptime, output };
    return output;
  };
  return () => {
    const version = deps.localVersion?.() ?? null;
    if (version !== null && known !== null && known.version === version) return answer(known.summary);
    return town.summary().then((s) => {
      // Kept only if nothing was applied while the read waited (the summary is then V's, and durable).
      if (version !== null && deps.localVersion?.() === version) known = { version, summary: s };
      return answer(s);
    });
  };
}


export function statusOperations(town: Town, deps: StatusDeps): AnyOperation[] {
  const status = statusAnswers(town, deps);
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
      run: status,
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
