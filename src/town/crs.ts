// The town's side of Buttercup's CRS task API: tasks pushed by the AIxCC
// competition API land in the backlog as ordinary town tasks (tagged `crs`),
// with the pushed detail kept as the task's payload. Plain functions, each run
// inside one store transaction by `crs-desk.ts`.
//
// Rules the competition API relies on (it retries until it gets a 200):
// - a retried message (same `message_id`) or a task id already known is not
//   queued twice;
// - a cancel may arrive before its task: unknown ids are remembered in `meta`
//   and applied when the task arrives;
// - nothing is dropped silently: `harnesses_included: false` is stored as
//   `cancelled` with that reason, an expired deadline as `failed`.
import type { ReadTx } from '../store/store.js';
import { findAgent, putAgent } from './agent-lookup.js';
import { enqueueMessage, mailboxMessages } from './messages.js';
import { MAX_NAME_LENGTH, isUnfinished, type TaskRecord, type TaskState } from './records.js';
import { CRS_MEMORY, TASKS, TaskBucket, type RememberedCrs } from './town-indexes.js';
import { nextSeq, type WriteContext } from './write-context.js';

export interface CrsSource {
  type: 'repo' | 'fuzz-tooling' | 'diff';
  url: string;
  sha256: string;
}

export interface CrsTaskDetail {
  task_id: string;
  type: 'full' | 'delta';
  /** Unix milliseconds. */
  deadline: number;
  focus: string;
  project_name: string;
  harnesses_included: boolean;
  metadata: Record<string, unknown>;
  source: CrsSource[];
}

export interface CrsTaskMessage {
  message_id: string;
  message_time: number;
  tasks: CrsTaskDetail[];
}

export interface CrsSarifBroadcast {
  message_id: string;
  message_time: number;
  broadcasts: Array<{ sarif_id: string; task_id: string; sarif: Record<string, unknown>; metadata: Record<string, unknown> }>;
}

export const DEADLINE_PASSED = 'deadline passed';
export const NO_HARNESSES = 'harnesses not included (harnesses_included: false)';
export const CANCELLED_BY_API = 'cancelled by the competition API';

const messageKey = (id: string): string => `crs.message:${id}`;
const cancelKey = (id: string): string => `crs.cancel:${id}`;
const sarifKey = (taskId: string, sarifId: string): string => `crs.sarif:${taskId}:${sarifId}`;
const SINCE_KEY = 'crs.status_since';

/** How long a message id (for dedupe) and an early cancel are remembered: far longer than any retry or round. */
export const CRS_MEMORY_MS = 7 * 24 * 3600_000;

/** `meta` holds a RememberedCrs for a message id or early cancel; the key is inside so a purge can find it. */
function remember(w: WriteContext, key: string): void {
  const value: RememberedCrs = { crs_memory: true, key, at: w.nowMs };
  w.tx.put('meta', key, value);
}

/** Forget message ids and early cancels older than CRS_MEMORY_MS; returns how many. */
export function purgeCrsMemory(w: WriteContext): number {
  const doomed: string[] = [];
  for (const { id, value } of w.tx.index(CRS_MEMORY).entries('crs-memory')) {
    if (value.at > w.nowMs - CRS_MEMORY_MS) break; // oldest first: the rest are younger
    doomed.push(id);
  }
  for (const id of doomed) w.tx.delete('meta', id);
  return doomed.length;
}

const isCrs = (t: TaskRecord): boolean => t.source === 'crs';

function describe(d: CrsTaskDetail): string {
  const sources = d.source.map((s) => `${s.type} ${s.url} (sha256 ${s.sha256})`).join('; ');
  return `CRS ${d.type} task ${d.task_id} for project ${d.project_name} (focus ${d.focus}); deadline ${new Date(d.deadline).toISOString()}; sources: ${sources || 'none'}`;
}

export interface SubmitResult {
  duplicate: boolean;
  /** Ids of tasks put in the backlog. */
  queued: string[];
  /** Ids stored already finished (cancelled before arrival, no harnesses, deadline passed). */
  settled: string[];
}

/** One `POST /v1/task/` message: each new detail becomes one town task. */
export function submitCrsTasks(w: WriteContext, msg: CrsTaskMessage): SubmitResult {
  const out: SubmitResult = { duplicate: false, queued: [], settled: [] };
  if (w.tx.get('meta', messageKey(msg.message_id)) !== undefined) return { ...out, duplicate: true };
  remember(w, messageKey(msg.message_id));
  for (const detail of msg.tasks) {
    const id = detail.task_id.toLowerCase();
    if (w.tx.get('tasks', id) !== undefined) continue;
    let state: TaskState = 'pending';
    let result: string | null = null;
    if (w.tx.get('meta', cancelKey(id)) !== undefined) {
      [state, result] = ['cancelled', `${CANCELLED_BY_API} before the task arrived`];
      w.tx.delete('meta', cancelKey(id));
    } else if (!detail.harnesses_included) [state, result] = ['cancelled', NO_HARNESSES];
    else if (detail.deadline <= w.nowMs) [state, result] = ['failed', DEADLINE_PASSED];
    const seq = nextSeq(w.tx);
    const finished = state !== 'pending';
    const task: TaskRecord = {
      id,
      description: describe(detail),
      tags: ['crs', `crs:${detail.type}`, `project:${detail.project_name}`.slice(0, MAX_NAME_LENGTH)],
      state,
      assigned_to: null,
      result,
      created_at: w.now,
      updated_at: w.now,
      started_at: null,
      completed_at: finished ? w.now : null,
      seq,
      queue_seq: seq,
      source: 'crs',
      payload: detail,
      sarif_ids: [],
    };
    w.tx.put('tasks', id, task);
    (finished ? out.settled : out.queued).push(id);
  }
  return out;
}

/**
 * Ends a CRS task that is not finished. Its agent, if any, loses the queued
 * assignment, is freed if it was on it, and is told why.
 */
function endTask(w: WriteContext, task: TaskRecord, state: 'cancelled' | 'failed', reason: string): void {
  w.tx.put('tasks', task.id, { ...task, state, result: reason, updated_at: w.now, completed_at: w.now });
  const agent = task.assigned_to === null ? undefined : findAgent(w.tx, task.assigned_to);
  if (agent === undefined) return;
  for (const m of mailboxMessages(w.tx, agent.id)) {
    if (m.kind === 'task_assign' && m.task_id === task.id) w.tx.delete('messages', m.id);
  }
  if (agent.current_task === task.id) {
    putAgent(w.tx, { ...agent, state: agent.state === 'working' ? 'idle' : agent.state, current_task: null, last_active_at: w.now });
  }
  enqueueMessage(w, { from: 'supervisor', to: { key: agent.id, name: agent.name }, kind: 'info', body: `Task ${task.id} is ${state}: ${reason}. Stop working on it.`, urgent: true, task_id: task.id });
}

/** Cancel one task; an unknown id is remembered so the cancel applies when the task arrives. */
export function cancelCrsTask(w: WriteContext, taskId: string): void {
  const id = taskId.toLowerCase();
  const task = w.tx.get<TaskRecord>('tasks', id);
  if (task === undefined) {
    remember(w, cancelKey(id));
    return;
  }
  if (isCrs(task) && isUnfinished(task.state)) endTask(w, task, 'cancelled', CANCELLED_BY_API);
}

/** Cancel every CRS task not finished yet, those still in the backlog included. */
export function cancelAllCrsTasks(w: WriteContext): number {
  const open = openCrsTasks(w.tx);
  for (const task of open) endTask(w, task, 'cancelled', CANCELLED_BY_API);
  return open.length;
}

/** CRS tasks not finished yet, in creation order. */
function openCrsTasks(tx: ReadTx): TaskRecord[] {
  return Array.from(tx.index(TASKS).entries(TaskBucket.crsOpen), (e) => e.value);
}

/** Fail every CRS task whose deadline has passed; returns the earliest deadline still ahead (Infinity if none). */
export function expireCrsDeadlines(w: WriteContext): number {
  let next = Infinity;
  for (const task of openCrsTasks(w.tx)) {
    const deadline = (task.payload as CrsTaskDetail).deadline;
    if (deadline <= w.nowMs) endTask(w, task, 'failed', DEADLINE_PASSED);
    else next = Math.min(next, deadline);
  }
  return next;
}

/** The earliest deadline of an unfinished CRS task (Infinity if none). */
export function nextCrsDeadline(tx: ReadTx): number {
  let next = Infinity;
  for (const { value } of tx.index(TASKS).entries(TaskBucket.crsOpen)) next = Math.min(next, (value.payload as CrsTaskDetail).deadline);
  return next;
}

/** Store each SARIF broadcast with its task and tell the agent working on it. Repeats are stored once. */
export function storeCrsSarif(w: WriteContext, msg: CrsSarifBroadcast): number {
  let stored = 0;
  for (const b of msg.broadcasts) {
    const taskId = b.task_id.toLowerCase();
    const key = sarifKey(taskId, b.sarif_id);
    if (w.tx.get('meta', key) !== undefined) continue;
    w.tx.put('meta', key, { ...b, task_id: taskId, message_id: msg.message_id, received_at: w.now });
    stored++;
    const task = w.tx.get<TaskRecord>('tasks', taskId);
    if (task === undefined) continue;
    w.tx.put('tasks', task.id, { ...task, sarif_ids: [...(task.sarif_ids ?? []), b.sarif_id], updated_at: w.now });
    const agent = task.assigned_to === null || !isUnfinished(task.state) ? undefined : findAgent(w.tx, task.assigned_to);
    if (agent !== undefined) {
      enqueueMessage(w, { from: 'supervisor', to: { key: agent.id, name: agent.name }, kind: 'info', body: JSON.stringify({ sarif_id: b.sarif_id, task_id: taskId, sarif: b.sarif, metadata: b.metadata }), urgent: false, task_id: taskId });
    }
  }
  return stored;
}

export interface CrsTaskCounts {
  canceled: number;
  errored: number;
  failed: number;
  pending: number;
  processing: number;
  succeeded: number;
  waiting: number;
}

export interface CrsStatus {
  since: number;
  tasks: CrsTaskCounts;
}

/**
 * Counts over the town's CRS tasks. pending and processing are what is there
 * now; the finished counts include only tasks that finished since the last reset.
 */
export function crsStatus(tx: ReadTx): CrsStatus {
  const since = tx.get<number>('meta', SINCE_KEY) ?? 0;
  const tasks: CrsTaskCounts = { canceled: 0, errored: 0, failed: 0, pending: 0, processing: 0, succeeded: 0, waiting: 0 };
  for (const { value: t } of tx.index(TASKS).entries(TaskBucket.crs)) {
    if (t.state === 'pending') tasks.pending++;
    else if (t.state === 'assigned' || t.state === 'running') tasks.processing++;
    else if (t.completed_at === null || Date.parse(t.completed_at) >= since) {
      if (t.state === 'completed') tasks.succeeded++;
      else if (t.state === 'failed') tasks.failed++;
      else tasks.canceled++;
    }
  }
  return { since, tasks };
}

/** `DELETE /status/`: finished tasks are counted from now on. */
export function resetCrsStatus(w: WriteContext): void {
  w.tx.put('meta', SINCE_KEY, w.nowMs);
}
