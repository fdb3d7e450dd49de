// Tasks handed to agents directly, and the worker-side lifecycle:
// assigned -> running (start) -> completed | failed.
//
// Completing or failing a task frees its agent (`idle`, `current_task`
// cleared) and tells the supervisor, who hands out every task, with a
// `task_done` or `task_failed` message. Illegal transitions are 409s that
// carry the task's current state.
import type { ReadTx } from '../store/store.js';
import { OpError, invalidInput } from '../errors.js';
import { assertAcceptsWork, findAgent, putAgent, resolveAgent } from './agent-lookup.js';
import { enqueueMessage } from './messages.js';
import { pageOf, type PageRequest } from './pagination.js';
import { SUPERVISOR, TASK_STATES, taskView, type AgentRecord, type Task, type TaskRecord, type TaskState } from './records.js';
import { TASKS, TaskBucket } from './town-indexes.js';
import { nextSeq, type WriteContext } from './write-context.js';
import { randomUUID } from 'node:crypto';

export function taskNotFound(id: string): OpError {
  const shown = id.length > 64 ? `${id.slice(0, 64)}...` : id;
  return new OpError('task.not_found', `No task ${JSON.stringify(shown)} in this town.`);
}

export function resolveTask(tx: ReadTx, id: string): TaskRecord {
  const task = tx.get<TaskRecord>('tasks', id);
  if (task === undefined) throw taskNotFound(id);
  return task;
}

export function taskStateConflict(task: TaskRecord, wanted: string): OpError {
  return new OpError('task.state_conflict', `The task is ${task.state}; it cannot be ${wanted}.`, { current_state: task.state });
}

/** A new task; `pending` ones join the end of the backlog. */
export function createTask(w: WriteContext, description: string, tags: readonly string[]): TaskRecord {
  const seq = nextSeq(w.tx);
  const task: TaskRecord = {
    id: randomUUID(),
    description,
    tags: [...tags],
    state: 'pending',
    assigned_to: null,
    result: null,
    created_at: w.now,
    updated_at: w.now,
    started_at: null,
    completed_at: null,
    seq,
    queue_seq: seq,
  };
  w.tx.create('tasks', task.id, task);
  return task;
}

/** Hand `task` to `agent` (from the supervisor) and queue the agent a `task_assign`. */
export function giveTask(w: WriteContext, task: TaskRecord, agent: AgentRecord): TaskRecord {
  const next: TaskRecord = { ...task, state: 'assigned', assigned_to: agent.id, started_at: null, updated_at: w.now };
  w.tx.put('tasks', next.id, next);
  enqueueMessage(w, {
    from: SUPERVISOR,
    to: { key: agent.id, name: agent.name },
    kind: 'task_assign',
    body: task.description,
    urgent: false,
    task_id: task.id,
  });
  return next;
}

export type AssignedTask = Task & { agent_id: string; agent_name: string };

export function assignedView(task: TaskRecord, agent: AgentRecord): AssignedTask {
  return { ...taskView(task), agent_id: agent.id, agent_name: agent.name };
}

export function assignTask(w: WriteContext, agentRef: string, description: string): AssignedTask {
  const agent = resolveAgent(w.tx, agentRef);
  assertAcceptsWork(agent);
  const task = giveTask(w, createTask(w, description, []), agent);
  return assignedView(task, agent);
}

export interface TaskFilter {
  state?: string | null;
  /** An agent's name or id. */
  agent?: string | null;
  tag?: string | null;
}

export interface TaskList {
  tasks: Task[];
  count: number;
  total: number;
  next_cursor: string | null;
}

export function listTasks(tx: ReadTx, filter: TaskFilter = {}, page: PageRequest = {}): TaskList {
  const { state, tag } = filter;
  if (state !== undefined && state !== null && !(TASK_STATES as readonly string[]).includes(state)) {
    throw invalidInput([{ pointer: '/state', message: `must be one of: ${TASK_STATES.join(', ')}` }]);
  }
  const agentId = filter.agent === undefined || filter.agent === null ? null : resolveAgent(tx, filter.agent).id;
  // Each filter is a bucket: page through the smallest one and check the others on its records.
  const index = tx.index(TASKS);
  const filters: Array<{ bucket: string; test: (t: TaskRecord) => boolean }> = [];
  if (state !== undefined && state !== null) filters.push({ bucket: TaskBucket.state(state), test: (t) => t.state === state });
  if (agentId !== null) filters.push({ bucket: TaskBucket.agent(agentId), test: (t) => t.assigned_to === agentId });
  if (tag !== undefined && tag !== null) filters.push({ bucket: TaskBucket.tag(tag), test: (t) => t.tags.includes(tag) });
  filters.sort((x, y) => index.count(x.bucket) - index.count(y.bucket));
  const [narrowest, ...others] = filters;
  const rest = others.length === 0 ? undefined : (t: TaskRecord) => others.every((f) => f.test(t));
  const result = pageOf(index, narrowest?.bucket ?? TaskBucket.all, 1, page, rest);
  return { tasks: result.items.map(taskView), count: result.items.length, total: result.total, next_cursor: result.next_cursor };
}

export type PendingTask = Task & { agent_id: string; agent_name: string };

/** Tasks assigned to an agent and not started yet, with their agent (as Tinytown lists them). */
export function listPendingTasks(tx: ReadTx, page: PageRequest = {}): Omit<TaskList, 'tasks'> & { tasks: PendingTask[] } {
  const list = listTasks(tx, { state: 'assigned' }, page);
  return {
    ...list,
    tasks: list.tasks.map((t) => {
      const id = t.assigned_to ?? '';
      return { ...t, agent_id: id, agent_name: findAgent(tx, id)?.name ?? id };
    }),
  };
}

export function startTask(w: WriteContext, id: string): Task {
  const task = resolveTask(w.tx, id);
  if (task.state !== 'assigned') throw taskStateConflict(task, 'started');
  const agent = task.assigned_to === null ? undefined : findAgent(w.tx, task.assigned_to);
  if (agent !== undefined) {
    if (agent.state === 'stopped') {
      throw new OpError('agent.state_conflict', 'The assigned agent is stopped; restart it or reclaim its tasks.', { current_state: agent.state });
    }
    putAgent(w.tx, { ...agent, state: 'working', current_task: task.id, last_active_at: w.now });
  }
  const next: TaskRecord = { ...task, state: 'running', started_at: w.now, updated_at: w.now };
  w.tx.put('tasks', next.id, next);
  return taskView(next);
}

export function completeTask(w: WriteContext, id: string, result: string): Task {
  return finishTask(w, id, 'completed', result);
}

export function failTask(w: WriteContext, id: string, error: string): Task {
  return finishTask(w, id, 'failed', error);
}

function finishTask(w: WriteContext, id: string, outcome: Extract<TaskState, 'completed' | 'failed'>, text: string): Task {
  const task = resolveTask(w.tx, id);
  if (task.state !== 'assigned' && task.state !== 'running') {
    throw taskStateConflict(task, outcome);
  }
  const agent = task.assigned_to === null ? undefined : findAgent(w.tx, task.assigned_to);
  if (agent !== undefined) {
    // Only the task it is on frees the agent; a stopped agent stays stopped
    // until restarted, but its finished work still counts.
    const wasCurrent = agent.current_task === task.id || agent.current_task === null;
    putAgent(w.tx, {
      ...agent,
      state: wasCurrent && agent.state !== 'stopped' ? 'idle' : agent.state,
      current_task: wasCurrent ? null : agent.current_task,
      tasks_completed: agent.tasks_completed + (outcome === 'completed' ? 1 : 0),
      last_active_at: w.now,
    });
  }
  const next: TaskRecord = { ...task, state: outcome, result: text, updated_at: w.now, completed_at: w.now };
  w.tx.put('tasks', next.id, next);
  enqueueMessage(w, {
    from: agent?.name ?? SUPERVISOR,
    to: { key: SUPERVISOR, name: SUPERVISOR },
    kind: outcome === 'completed' ? 'task_done' : 'task_failed',
    body: text === '' ? `Task ${task.id} ${outcome}.` : `Task ${task.id} ${outcome}: ${text}`,
    urgent: false,
    task_id: task.id,
  });
  return taskView(next);
}
