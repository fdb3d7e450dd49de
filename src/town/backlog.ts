// The shared backlog: pending tasks with no assignee, in `queue_seq` order.
//
// Adding is O(1) (one sequence bump, one put): it is the benchmarked write.
// Claiming validates the task and the agent before writing, so a claim for an
// unknown agent leaves the task in the backlog; assign-all hands out every
// backlog task in order inside one transaction, so it either takes them all
// or (on failure) none.
import type { ReadTx } from '../store/store.js';
import { OpError, invalidInput, type FieldError } from '../errors.js';
import { assertAcceptsWork, resolveAgent } from './agent-lookup.js';
import { pageOf, type PageRequest } from './pagination.js';
import { MAX_NAME_LENGTH, MAX_TAGS, MAX_TEXT_BYTES, inBacklog, taskView, type Task, type TaskRecord } from './records.js';
import { assignedView, createTask, giveTask, resolveTask, type AssignedTask } from './tasks.js';
import { BACKLOG } from './town-indexes.js';
import type { WriteContext } from './write-context.js';

export interface BacklogInput {
  description: string;
  tags?: readonly string[] | null;
}

/** The checks the route schema also makes, for callers that bypass HTTP. */
function checkBacklogInput(input: BacklogInput): void {
  const errors: FieldError[] = [];
  const bytes = Buffer.byteLength(input.description, 'utf8');
  if (bytes < 1 || bytes > MAX_TEXT_BYTES) errors.push({ pointer: '/description', message: `must be 1 to ${MAX_TEXT_BYTES} bytes` });
  const tags = input.tags ?? [];
  if (tags.length > MAX_TAGS) errors.push({ pointer: '/tags', message: `must have at most ${MAX_TAGS} items` });
  tags.forEach((tag, i) => {
    if (tag.length < 1 || tag.length > MAX_NAME_LENGTH) errors.push({ pointer: `/tags/${i}`, message: `must be 1 to ${MAX_NAME_LENGTH} characters` });
  });
  if (errors.length > 0) throw invalidInput(errors);
}

export function addBacklog(w: WriteContext, input: BacklogInput): Task {
  checkBacklogInput(input);
  return taskView(createTask(w, input.description, input.tags ?? []));
}

export function backlogTasks(tx: ReadTx): TaskRecord[] {
  return Array.from(tx.index(BACKLOG).entries('backlog'), (e) => e.value);
}

export interface BacklogList {
  backlog: Task[];
  count: number;
  total: number;
  next_cursor: string | null;
}

export function listBacklog(tx: ReadTx, page: PageRequest = {}): BacklogList {
  const result = pageOf(tx.index(BACKLOG), 'backlog', 1, page);
  return { backlog: result.items.map(taskView), count: result.items.length, total: result.total, next_cursor: result.next_cursor };
}

function notInBacklog(task: TaskRecord): OpError {
  return new OpError('task.not_in_backlog', `The task is ${task.state}${task.assigned_to === null ? '' : ' and assigned'}; it is not in the backlog.`, {
    current_state: task.state,
  });
}

export function claimTask(w: WriteContext, taskId: string, agentRef: string): AssignedTask {
  const task = resolveTask(w.tx, taskId);
  const agent = resolveAgent(w.tx, agentRef);
  if (!inBacklog(task)) throw notInBacklog(task);
  assertAcceptsWork(agent);
  return assignedView(giveTask(w, task, agent), agent);
}

export interface AssignAllResult {
  assigned: number;
  tasks: string[];
  agent_id: string;
  agent_name: string;
}

export function assignAll(w: WriteContext, agentRef: string): AssignAllResult {
  const agent = resolveAgent(w.tx, agentRef);
  assertAcceptsWork(agent);
  const ids: string[] = [];
  for (const task of backlogTasks(w.tx)) {
    giveTask(w, task, agent);
    ids.push(task.id);
  }
  return { assigned: ids.length, tasks: ids, agent_id: agent.id, agent_name: agent.name };
}

export type RemovedTask = Task & { removed: true };

/** Take a task out of the backlog: it is kept, `cancelled`, so its history stays readable. */
export function removeBacklog(w: WriteContext, taskId: string): RemovedTask {
  const task = resolveTask(w.tx, taskId);
  if (!inBacklog(task)) throw notInBacklog(task);
  const next: TaskRecord = { ...task, state: 'cancelled', updated_at: w.now, completed_at: w.now };
  w.tx.put('tasks', next.id, next);
  return { ...taskView(next), removed: true };
}
