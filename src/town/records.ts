// The town's records as stored, and the JSON views the API answers with.
//
// Records are plain JSON objects in the store. Each carries a private `seq`
// (from `nextSeq`) that orders lists, FIFO queues and cursors; views strip it
// so clients see only the documented fields. Timestamps are stored already
// formatted (RFC 3339 UTC with milliseconds) so responses are the stored values.

export const AGENT_STATES = ['starting', 'idle', 'working', 'paused', 'draining', 'stopped', 'error', 'cold'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** States a worker may report in a heartbeat. */
export const HEARTBEAT_STATES = ['starting', 'idle', 'working', 'paused', 'draining'] as const satisfies readonly AgentState[];
export type HeartbeatState = (typeof HEARTBEAT_STATES)[number];

export const TASK_STATES = ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const MESSAGE_KINDS = ['task', 'query', 'info', 'ack', 'task_assign', 'task_done', 'task_failed', 'shutdown'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];
/** Kinds the server itself sends (a kill, an assignment, a task's end): a worker acts on them as on the real thing. */
export const CONTROL_KINDS: readonly MessageKind[] = ['shutdown', 'task_assign', 'task_done', 'task_failed'];

/** The built-in supervisor mailbox: not an agent, addressable by either name. */
export const SUPERVISOR = 'supervisor';
export const RESERVED_NAMES: readonly string[] = ['supervisor', 'conductor'];

export const AGENT_NAME_PATTERN = '^[A-Za-z0-9._-]+$';
export const MAX_NAME_LENGTH = 64;
/** Task descriptions, results and message bodies: 64 KiB of UTF-8. */
export const MAX_TEXT_BYTES = 64 * 1024;
export const MAX_TAGS = 32;

export interface AgentRecord {
  id: string;
  name: string;
  cli: string;
  role_id: string | null;
  nickname: string | null;
  parent_agent_id: string | null;
  state: AgentState;
  current_task: string | null;
  tasks_completed: number;
  created_at: string;
  last_heartbeat: string | null;
  last_active_at: string | null;
  seq: number;
}

export interface TaskRecord {
  id: string;
  description: string;
  tags: string[];
  state: TaskState;
  /** Agent id, never a name: a name can be reused after a prune. */
  assigned_to: string | null;
  result: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** Creation order, for `GET /v1/tasks`. */
  seq: number;
  /** Backlog position: renewed when a task goes back to the end of the backlog. */
  queue_seq: number;
  /** Where the task came from, when not a Townhall client: `crs` = pushed by the AIxCC competition API. */
  source?: 'crs';
  /** The structured request it came with (a CRS `TaskDetail`), kept as received. */
  payload?: unknown;
  /** Ids of SARIF broadcasts stored with the task (CRS tasks). */
  sarif_ids?: string[];
}

export interface MessageRecord {
  id: string;
  /** Sender's agent name, or `supervisor`. */
  from: string;
  /** Recipient's agent name, or `supervisor`. */
  to: string;
  /** The mailbox: the recipient's agent id, or `supervisor`. */
  to_agent: string;
  kind: MessageKind;
  body: string;
  urgent: boolean;
  /** The task a `task_assign`/`task_done`/`task_failed` message is about. */
  task_id: string | null;
  created_at: string;
  seq: number;
}

export type Agent = Omit<AgentRecord, 'seq'>;
export type Task = Omit<TaskRecord, 'seq' | 'queue_seq'> & { task_id: string };
/** `type` and `summary`: how Tinytown's inbox names and summarises a message. */
export type Message = Omit<MessageRecord, 'seq'> & { type: string; summary: string };

export function agentView(r: AgentRecord): Agent {
  const { seq: _seq, ...view } = r;
  return view;
}

/**
 * Tasks carry `task_id` too: Tinytown's townhall names tasks that way in every answer.
 * One copy by keys, not a rest pattern plus a spread: every write and every
 * listed task makes one, and this is half the cost (serialising it included).
 */
export function taskView(r: TaskRecord): Task {
  const view: Record<string, unknown> = {};
  const keys = Object.keys(r);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as keyof TaskRecord;
    if (key !== 'seq' && key !== 'queue_seq') view[key] = r[key];
  }
  view['task_id'] = r.id;
  return view as Task;
}

/** Tinytown's inbox `type` for each kind (an ack is a `confirmation` there). */
const TINYTOWN_TYPE: Readonly<Record<MessageKind, string>> = {
  task: 'task', query: 'query', info: 'info', ack: 'confirmation', task_assign: 'task_assign', task_done: 'task_done', task_failed: 'task_failed', shutdown: 'shutdown',
};

export function messageView(r: MessageRecord): Message {
  const { seq: _seq, ...view } = r;
  const summary = r.kind === 'task_assign' && r.task_id !== null ? `task assignment ${r.task_id}` : r.body;
  return { ...view, type: TINYTOWN_TYPE[r.kind], summary };
}

/** Tasks that still represent work to do. */
export function isUnfinished(state: TaskState): boolean {
  return state === 'pending' || state === 'assigned' || state === 'running';
}

/** A task sits in the backlog when it is pending with nobody assigned. */
export function inBacklog(t: TaskRecord): boolean {
  return t.state === 'pending' && t.assigned_to === null;
}

export function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = 0;
  return out;
}
