// The town's derived indexes (store/derived-index.ts): every query whose
// answer is a page, a head or a count reads one of these buckets, so its cost
// follows the size of the answer, not of the town. A sort key here is also the
// list's pagination cursor.
import { defineIndex, type IndexDefinition } from '../store/derived-index.js';
import type { ReadTx } from '../store/store.js';
import { TASK_STATES, isUnfinished, type MessageRecord, type TaskRecord, type TaskState } from './records.js';

// Bucket names are made once where they can be: a name built per record is a
// new string to allocate and hash, which at start-up (every index built from a
// million records) is a good part of the cost.
const STATE_BUCKETS = new Map(TASK_STATES.map((s) => [s, `state:${s}`]));
const TAG_BUCKETS = new Map<string, string>();
const MAX_TAG_NAMES = 10_000;

/** Buckets of TASKS: */
export const TaskBucket = {
  /** every task */
  all: 'all',
  /** tasks in one state */
  state: (state: string) => STATE_BUCKETS.get(state as TaskState) ?? `state:${state}`,
  /** tasks ever assigned to one agent (finished ones included) */
  agent: (agentId: string) => `agent:${agentId}`,
  /** tasks carrying one tag */
  tag(tag: string): string {
    let name = TAG_BUCKETS.get(tag);
    if (name === undefined) {
      name = `tag:${tag}`;
      if (TAG_BUCKETS.size < MAX_TAG_NAMES) TAG_BUCKETS.set(tag, name);
    }
    return name;
  },
  /** unfinished tasks that have an assignee: what a dead agent holds */
  held: 'held',
  /** tasks pushed by the CRS competition API */
  crs: 'crs',
  /** CRS tasks not finished yet (deadlines, cancel-all) */
  crsOpen: 'crs-open',
} as const;

/** Tasks in creation order. */
export const TASKS = defineIndex<TaskRecord>({
  name: 'tasks',
  collection: 'tasks',
  buckets(t) {
    const out = [TaskBucket.all, TaskBucket.state(t.state)];
    if (t.assigned_to !== null) {
      out.push(TaskBucket.agent(t.assigned_to));
      if (isUnfinished(t.state)) out.push(TaskBucket.held);
    }
    // A tag given twice is one bucket; most tasks have one tag or none, which need no Set.
    if (t.tags.length === 1) out.push(TaskBucket.tag(t.tags[0] as string));
    else if (t.tags.length > 1) for (const tag of new Set(t.tags)) out.push(TaskBucket.tag(tag));
    if (t.source === 'crs') {
      out.push(TaskBucket.crs);
      if (isUnfinished(t.state)) out.push(TaskBucket.crsOpen);
    }
    return out;
  },
  key: (t) => t.seq,
});

/** The backlog (pending, nobody assigned) in queue order: one bucket, `backlog`. */
export const BACKLOG = defineIndex<TaskRecord>({
  name: 'backlog',
  collection: 'tasks',
  buckets: (t) => (t.state === 'pending' && t.assigned_to === null ? ['backlog'] : []),
  key: (t) => t.queue_seq,
});

/** Finished tasks by the time they finished, oldest first: one bucket, `finished` (retention). */
export const FINISHED = defineIndex<TaskRecord>({
  name: 'finished',
  collection: 'tasks',
  buckets: (t) => (isUnfinished(t.state) || t.completed_at === null ? [] : ['finished']),
  key: (t) => [Date.parse(t.completed_at as string), t.seq],
});

/** Buckets of MAILBOXES: */
export const MailboxBucket = {
  /** one mailbox (an agent id or `supervisor`), in delivery order */
  box: (key: string) => `box:${key}`,
  /** the urgent messages of one mailbox */
  urgent: (key: string) => `urgent:${key}`,
  /** every urgent message in the town */
  allUrgent: 'urgent',
} as const;

/** Messages in delivery order: urgent first, then FIFO (the inbox cursor). */
export const MAILBOXES = defineIndex<MessageRecord>({
  name: 'mailboxes',
  collection: 'messages',
  buckets: (m) => (m.urgent ? [MailboxBucket.box(m.to_agent), MailboxBucket.urgent(m.to_agent), MailboxBucket.allUrgent] : [MailboxBucket.box(m.to_agent)]),
  key: (m) => [m.urgent ? 0 : 1, m.seq],
});

/** Queued `task_assign` messages by the task they assign: bucket = task id. */
export const ASSIGNMENTS = defineIndex<MessageRecord>({
  name: 'assignments',
  collection: 'messages',
  buckets: (m) => (m.kind === 'task_assign' && m.task_id !== null ? [m.task_id] : []),
  key: (m) => m.seq,
});

/** What `meta` holds for a remembered CRS message id or early cancel (crs.ts). */
export interface RememberedCrs {
  crs_memory: true;
  key: string;
  at: number;
}

function isRememberedCrs(v: unknown): v is RememberedCrs {
  const r = v as Partial<RememberedCrs> | null;
  return typeof r === 'object' && r !== null && r.crs_memory === true && typeof r.key === 'string' && typeof r.at === 'number';
}

/** Remembered CRS ids, oldest first: one bucket, `crs-memory` (the weekly purge). */
export const CRS_MEMORY = defineIndex<RememberedCrs>({
  name: 'crs-memory',
  collection: 'meta',
  buckets: (v) => (isRememberedCrs(v) ? ['crs-memory'] : []),
  key: (v) => v.at,
});

const ALL = [TASKS, BACKLOG, FINISHED, MAILBOXES, ASSIGNMENTS, CRS_MEMORY] as const;

/** Build every index now (at start-up), so no client request pays for building one. */
export function buildTownIndexes(tx: ReadTx): void {
  for (const definition of ALL) tx.index(definition as IndexDefinition<unknown>);
}
