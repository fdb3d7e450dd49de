// Recovering work from agents that died: `recover` marks silent agents
// stopped; `reclaim` moves the unfinished tasks (and queued messages) of
// stopped/errored agents to the backlog or to a live agent; orphan-tasks finds
// unfinished tasks whose agent is gone or not running.
//
// Each is one transaction that validates every name first, so a bad `to` or
// `from` changes nothing, and a reclaim without a destination only lists.
import { OpError, invalidInput } from '../errors.js';
import { assertAcceptsWork, putAgent, resolveAgent } from './agent-lookup.js';
import { mailboxMessages } from './messages.js';
import { taskView, type AgentRecord, type AgentState, type MessageRecord, type Task, type TaskRecord } from './records.js';
import { giveTask } from './tasks.js';
import { ASSIGNMENTS, TASKS, TaskBucket } from './town-indexes.js';
import { nextSeq, type WriteContext } from './write-context.js';

const WATCHED: readonly AgentState[] = ['starting', 'idle', 'working', 'draining'];
const DEAD: readonly AgentState[] = ['stopped', 'error'];
const ORPHANING: readonly AgentState[] = ['stopped', 'error', 'cold'];

export interface RecoverResult {
  /** Every agent looked at, as Tinytown counts it. */
  checked: number;
  recovered: number;
  agents: string[];
}

/** Agents in a watched state whose last heartbeat (or creation) is older than the timeout become `stopped`. */
export function recover(w: WriteContext, heartbeatTimeoutSecs: number): RecoverResult {
  const agents = w.tx.list<AgentRecord>('agents').sort((a, b) => a.seq - b.seq);
  const cutoff = w.nowMs - heartbeatTimeoutSecs * 1000;
  const recovered: string[] = [];
  for (const agent of agents) {
    if (!WATCHED.includes(agent.state)) continue;
    const last = Date.parse(agent.last_heartbeat ?? agent.created_at);
    if (last < cutoff) {
      putAgent(w.tx, { ...agent, state: 'stopped' });
      recovered.push(agent.name);
    }
  }
  return { checked: agents.length, recovered: recovered.length, agents: recovered };
}

export interface ReclaimInput {
  to_backlog?: boolean | null;
  /** Destination agent, name or id. */
  to?: string | null;
  /** Only this (stopped or errored) agent, name or id. */
  from?: string | null;
}

export interface ReclaimResult {
  reclaimed: number;
  destination: string;
  tasks: string[];
}

/** Put a task back at the end of the backlog with no assignee. */
function requeue(w: WriteContext, task: TaskRecord): TaskRecord {
  const next: TaskRecord = { ...task, state: 'pending', assigned_to: null, started_at: null, updated_at: w.now, queue_seq: nextSeq(w.tx) };
  w.tx.put('tasks', next.id, next);
  return next;
}

/** Deletes queued `task_assign` messages for these tasks: they no longer hold, and an agent must not act on them. */
function voidAssignments(w: WriteContext, taskIds: ReadonlySet<string>): void {
  const assignments = w.tx.index(ASSIGNMENTS);
  const doomed: string[] = [];
  for (const taskId of taskIds) for (const entry of assignments.entries(taskId)) doomed.push(entry.id);
  for (const id of doomed) w.tx.delete('messages', id);
}

/** Unfinished tasks that have an assignee, in creation order (what dead agents can hold). */
function heldTasks(w: WriteContext, holder: (agentId: string) => boolean): TaskRecord[] {
  const out: TaskRecord[] = [];
  for (const { value } of w.tx.index(TASKS).entries(TaskBucket.held)) if (holder(value.assigned_to as string)) out.push(value);
  return out;
}

function clearCurrentTasks(w: WriteContext, agents: readonly AgentRecord[], taskIds: ReadonlySet<string>): void {
  for (const a of agents) {
    if (a.current_task !== null && taskIds.has(a.current_task)) putAgent(w.tx, { ...a, current_task: null });
  }
}

export function reclaim(w: WriteContext, input: ReclaimInput): ReclaimResult {
  const toBacklog = input.to_backlog === true;
  const hasTo = input.to !== undefined && input.to !== null;
  if (toBacklog && hasTo) throw invalidInput([{ pointer: '/to', message: 'cannot be combined with to_backlog' }]);

  let sources: AgentRecord[];
  if (input.from !== undefined && input.from !== null) {
    const from = resolveAgent(w.tx, input.from);
    if (!DEAD.includes(from.state)) {
      throw new OpError('agent.state_conflict', 'Only a stopped or errored agent can have its work reclaimed.', { current_state: from.state });
    }
    sources = [from];
  } else {
    sources = w.tx.list<AgentRecord>('agents').filter((a) => DEAD.includes(a.state));
  }
  const target = hasTo ? resolveAgent(w.tx, input.to as string) : null;
  if (target !== null) assertAcceptsWork(target);

  const sourceIds = new Set(sources.map((a) => a.id));
  const tasks = heldTasks(w, (id) => sourceIds.has(id));
  const ids = tasks.map((t) => t.id);
  const idSet = new Set(ids);

  if (toBacklog) {
    voidAssignments(w, idSet);
    for (const t of tasks) requeue(w, t);
    clearCurrentTasks(w, sources, idSet);
    return { reclaimed: ids.length, destination: 'backlog', tasks: ids };
  }
  if (target === null) return { reclaimed: ids.length, destination: 'none', tasks: ids };

  // Queued messages follow their tasks, in their original order, to the end
  // of the target's queue. `shutdown` stays (it was meant for the dead agent);
  // the old `task_assign`s are replaced by fresh ones below, and assignments
  // of tasks the dead agent no longer holds stay put rather than mislead.
  voidAssignments(w, idSet);
  const queued: MessageRecord[] = sources.flatMap((a) => mailboxMessages(w.tx, a.id)).sort((a, b) => a.seq - b.seq);
  for (const m of queued) {
    if (m.kind === 'shutdown' || m.kind === 'task_assign') continue;
    w.tx.put('messages', m.id, { ...m, to: target.name, to_agent: target.id, seq: nextSeq(w.tx) });
    w.wake(target.id);
  }
  for (const t of tasks) giveTask(w, t, target);
  clearCurrentTasks(w, sources, idSet);
  return { reclaimed: ids.length, destination: `agent:${target.name}`, tasks: ids };
}

export const ORPHAN_ACTIONS = ['list', 'to_backlog', 'cancel'] as const;
export type OrphanAction = (typeof ORPHAN_ACTIONS)[number];

/** Tinytown's view of an orphan: its state before the action, and why it is one. */
export interface OrphanEntry {
  task_id: string;
  assigned_to: string;
  state: string;
  reason: 'agent_missing' | 'agent_terminal';
}

export interface OrphanResult {
  action: OrphanAction;
  count: number;
  tasks: Task[];
  orphans: OrphanEntry[];
}

/** Unfinished tasks assigned to an agent that is gone, or stopped, errored or cold. */
export function orphanTasks(w: WriteContext, action: OrphanAction): OrphanResult {
  if (!(ORPHAN_ACTIONS as readonly string[]).includes(action)) {
    throw invalidInput([{ pointer: '/action', message: `must be one of: ${ORPHAN_ACTIONS.join(', ')}` }]);
  }
  const agents = new Map(w.tx.list<AgentRecord>('agents').map((a) => [a.id, a]));
  const orphans = heldTasks(w, (id) => {
    const agent = agents.get(id);
    return agent === undefined || ORPHANING.includes(agent.state);
  });

  const entries: OrphanEntry[] = orphans.map((t) => ({
    task_id: t.id,
    assigned_to: t.assigned_to ?? '',
    state: t.state,
    reason: agents.has(t.assigned_to ?? '') ? 'agent_terminal' : 'agent_missing',
  }));
  let result = orphans;
  if (action === 'to_backlog') {
    result = orphans.map((t) => requeue(w, t));
  } else if (action === 'cancel') {
    result = orphans.map((t) => {
      const next: TaskRecord = { ...t, state: 'cancelled', updated_at: w.now, completed_at: w.now };
      w.tx.put('tasks', next.id, next);
      return next;
    });
  }
  if (action !== 'list') {
    const ids = new Set(orphans.map((t) => t.id));
    voidAssignments(w, ids);
    clearCurrentTasks(w, [...agents.values()], ids);
  }
  return { action, count: result.length, tasks: result.map(taskView), orphans: entries };
}
