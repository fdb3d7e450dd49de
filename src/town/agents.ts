// Agent lifecycle: spawn, list, heartbeat, kill, restart, prune.
//
// Every function here runs inside one store transaction (a WriteContext or a
// ReadTx) and validates everything before its first write, so a failure
// leaves the town exactly as it was.
import type { ReadTx } from '../store/store.js';
import { OpError } from '../errors.js';
import { isReservedName, nameKey, putAgent, resolveAgent } from './agent-lookup.js';
import { enqueueMessage, mailboxMessages } from './messages.js';
import { paginate, type PageRequest } from './pagination.js';
import { SUPERVISOR, agentView, type Agent, type AgentRecord, type HeartbeatState } from './records.js';
import { agentBrief, type AgentBrief } from './tinytown-views.js';
import { nextSeq, type WriteContext } from './write-context.js';
import { randomUUID } from 'node:crypto';

export interface SpawnInput {
  name: string;
  cli?: string | null;
  role_id?: string | null;
  nickname?: string | null;
  /** The parent's name or id. */
  parent_agent_id?: string | null;
}

export type AgentResult = Agent & { agent_id: string };

export function withAgentId(r: AgentRecord): AgentResult {
  return { ...agentView(r), agent_id: r.id };
}

/** States of agents that no longer run: they do not count against `max_agents`. */
const GONE: ReadonlySet<string> = new Set(['stopped', 'error']);

/** Registers an agent; at most `maxAgents` may be live at once (killed or errored ones do not count). */
export function spawnAgent(w: WriteContext, defaultCli: string, input: SpawnInput, maxAgents = Infinity): AgentRecord {
  // Reserved names behave like taken names: the supervisor mailbox owns them.
  if (isReservedName(input.name)) {
    throw new OpError('agent.exists', `The name ${JSON.stringify(input.name)} is reserved for the supervisor mailbox.`);
  }
  if (w.tx.get('meta', nameKey(input.name)) !== undefined) {
    throw new OpError('agent.exists', `An agent named ${JSON.stringify(input.name)} already exists.`);
  }
  if (Number.isFinite(maxAgents) && w.tx.list<AgentRecord>('agents').filter((a) => !GONE.has(a.state)).length >= maxAgents) {
    throw new OpError('agent.limit_reached', `The town already runs ${maxAgents} agents (max_agents); stop or prune one, or raise the limit.`);
  }
  const parent = input.parent_agent_id === undefined || input.parent_agent_id === null ? null : resolveAgent(w.tx, input.parent_agent_id).id;
  const agent: AgentRecord = {
    id: randomUUID(),
    name: input.name,
    cli: input.cli ?? defaultCli,
    role_id: input.role_id ?? null,
    nickname: input.nickname ?? null,
    parent_agent_id: parent,
    state: 'starting',
    current_task: null,
    tasks_completed: 0,
    created_at: w.now,
    last_heartbeat: null,
    last_active_at: null,
    seq: nextSeq(w.tx),
  };
  putAgent(w.tx, agent);
  w.tx.put('meta', nameKey(agent.name), agent.id);
  return agent;
}

export interface AgentList {
  agents: AgentBrief[];
  count: number;
  total: number;
  next_cursor: string | null;
}

export function listAgents(tx: ReadTx, page: PageRequest = {}): AgentList {
  const result = paginate(tx.list<AgentRecord>('agents'), (a) => [a.seq], 1, page);
  return { agents: result.items.map((a) => agentBrief(tx, a)), count: result.items.length, total: result.total, next_cursor: result.next_cursor };
}

export function heartbeat(w: WriteContext, ref: string, state?: HeartbeatState | null): AgentRecord {
  const agent = resolveAgent(w.tx, ref);
  if (agent.state === 'stopped') {
    throw new OpError('agent.state_conflict', 'The agent is stopped; restart it before it reports again.', { current_state: agent.state });
  }
  const next: AgentRecord = { ...agent, last_heartbeat: w.now, state: state ?? agent.state };
  putAgent(w.tx, next);
  return next;
}

/** Stop an agent and queue it an urgent `shutdown`. Killing a stopped agent changes nothing. */
export function killAgent(w: WriteContext, ref: string): AgentRecord {
  const agent = resolveAgent(w.tx, ref);
  if (agent.state === 'stopped') return agent;
  const next: AgentRecord = { ...agent, state: 'stopped' };
  putAgent(w.tx, next);
  enqueueMessage(w, {
    from: SUPERVISOR,
    to: { key: agent.id, name: agent.name },
    kind: 'shutdown',
    body: 'Stop: this agent was killed by the supervisor.',
    urgent: true,
  });
  return next;
}

/**
 * Bring an agent back to `idle`. Its queued `shutdown` messages are dropped
 * (the restart supersedes the kill, or the new worker would exit at once), and
 * the restart counts as a heartbeat so `recover` gives the worker a full
 * timeout to report before judging it dead again.
 */
export function restartAgent(w: WriteContext, ref: string): AgentRecord {
  const agent = resolveAgent(w.tx, ref);
  for (const m of mailboxMessages(w.tx, agent.id)) {
    if (m.kind === 'shutdown') w.tx.delete('messages', m.id);
  }
  const next: AgentRecord = { ...agent, state: 'idle', current_task: null, last_heartbeat: w.now };
  putAgent(w.tx, next);
  return next;
}

export interface PruneResult {
  removed: number;
  agents: string[];
}

/** Remove stopped and errored agents (or every agent), with their queued messages. */
export function pruneAgents(w: WriteContext, all: boolean): PruneResult {
  const doomed = w.tx
    .list<AgentRecord>('agents')
    .filter((a) => all || a.state === 'stopped' || a.state === 'error')
    .sort((a, b) => a.seq - b.seq);
  const ids = new Set(doomed.map((a) => a.id));
  for (const id of ids) for (const m of mailboxMessages(w.tx, id)) w.tx.delete('messages', m.id);
  for (const a of doomed) {
    w.tx.delete('agents', a.id);
    w.tx.delete('meta', nameKey(a.name));
  }
  return { removed: doomed.length, agents: doomed.map((a) => a.name) };
}
