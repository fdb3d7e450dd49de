// Counts for `GET /v1/status` and `/metrics`: every state is present, with 0
// when no record is in it, so dashboards see a stable set of series.
import type { ReadTx } from '../store/store.js';
import {
  AGENT_STATES,
  TASK_STATES,
  zeroCounts,
  type AgentRecord,
  type AgentState,
  type TaskState,
} from './records.js';
import { agentsFull, type AgentFull } from './tinytown-views.js';
import { BACKLOG, MAILBOXES, MailboxBucket, TASKS, TaskBucket } from './town-indexes.js';

export interface TownSummary {
  name: string;
  agents: number;
  /** Every agent, as Tinytown's `GET /v1/status` lists them. */
  agent_list: AgentFull[];
  agents_by_state: Record<AgentState, number>;
  tasks_by_state: Record<TaskState, number>;
  backlog: number;
  urgent_messages: number;
  /** Messages queued in every mailbox, the supervisor's included. */
  messages: number;
}

export function summarizeTown(tx: ReadTx, name: string): TownSummary {
  const agentsByState = zeroCounts(AGENT_STATES);
  const agents = tx.list<AgentRecord>('agents');
  for (const a of agents) agentsByState[a.state]++;
  // Agents are few; tasks and messages are counted by their indexes, never scanned.
  const tasks = tx.index(TASKS);
  const tasksByState = zeroCounts(TASK_STATES);
  for (const state of TASK_STATES) tasksByState[state] = tasks.count(TaskBucket.state(state));
  return {
    name,
    agents: agents.length,
    agent_list: agentsFull(tx),
    agents_by_state: agentsByState,
    tasks_by_state: tasksByState,
    backlog: tx.index(BACKLOG).count('backlog'),
    urgent_messages: tx.index(MAILBOXES).count(MailboxBucket.allUrgent),
    messages: tx.count('messages'),
  };
}
