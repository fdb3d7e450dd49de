// The extra fields Tinytown's townhall answers with, so scripts written
// against it keep working (reference: tinytown-townhall.md §1.4):
// - agents in lists carry `spawn_mode` and `current_scope` (Tinytown's
//   AgentBrief); in `GET /v1/status` also `rounds_completed`, `inbox_len`
//   and `urgent_len` (AgentFull);
// - messages carry `type` and `summary` (see records.ts `messageView`).
// Townhall starts no worker processes, so every agent is spawned `fresh`, and
// it runs no worker rounds, so `rounds_completed` is 0.
import type { ReadTx } from '../store/store.js';
import { mailboxLength } from './messages.js';
import { agentView, type Agent, type AgentRecord, type TaskRecord } from './records.js';

export type AgentBrief = Agent & { spawn_mode: 'fresh'; current_scope: string | null };
export type AgentFull = AgentBrief & { rounds_completed: number; inbox_len: number; urgent_len: number };

/** What the agent is working on: the description of its current task. */
function currentScope(tx: ReadTx, r: AgentRecord): string | null {
  if (r.current_task === null) return null;
  return tx.get<TaskRecord>('tasks', r.current_task)?.description ?? null;
}

export function agentBrief(tx: ReadTx, r: AgentRecord): AgentBrief {
  return { ...agentView(r), spawn_mode: 'fresh', current_scope: currentScope(tx, r) };
}

/** Every agent as Tinytown's `GET /v1/status` lists it, in creation order; `inbox_len` counts the normal messages. */
export function agentsFull(tx: ReadTx): AgentFull[] {
  return tx
    .list<AgentRecord>('agents')
    .sort((a, b) => a.seq - b.seq)
    .map((r) => {
      const c = mailboxLength(tx, r.id);
      return { ...agentBrief(tx, r), rounds_completed: 0, inbox_len: c.all - c.urgent, urgent_len: c.urgent };
    });
}
