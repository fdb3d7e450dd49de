// Finding agents and mailboxes by what a client typed: an agent's id or its
// name (names match regardless of case). `supervisor` and `conductor` name the
// built-in supervisor mailbox, which is not an agent.
//
// A name index lives in `meta` (`agent-name:<lower-case name>` -> id) so a
// lookup by name is one get, not a scan; it is written and removed in the
// same transactions as the agent records.
import type { ReadTx, WriteTx } from '../store/store.js';
import { OpError } from '../errors.js';
import { RESERVED_NAMES, SUPERVISOR, type AgentRecord } from './records.js';

export function nameKey(name: string): string {
  return `agent-name:${name.toLowerCase()}`;
}

export function isReservedName(name: string): boolean {
  return RESERVED_NAMES.includes(name.toLowerCase());
}

/** Client input echoed in a detail is cut short; it is never a header. */
function quote(ref: string): string {
  return JSON.stringify(ref.length > 64 ? `${ref.slice(0, 64)}...` : ref);
}

export function agentNotFound(ref: string): OpError {
  return new OpError('agent.not_found', `No agent ${quote(ref)} in this town.`);
}

export function findAgent(tx: ReadTx, ref: string): AgentRecord | undefined {
  const byId = tx.get<AgentRecord>('agents', ref);
  if (byId !== undefined) return byId;
  const id = tx.get<string>('meta', nameKey(ref));
  return typeof id === 'string' ? tx.get<AgentRecord>('agents', id) : undefined;
}

export function resolveAgent(tx: ReadTx, ref: string): AgentRecord {
  const agent = findAgent(tx, ref);
  if (agent === undefined) throw agentNotFound(ref);
  return agent;
}

export interface Mailbox {
  /** The agent id, or `supervisor`. */
  key: string;
  /** The agent name, or `supervisor`. */
  name: string;
  agent: AgentRecord | null;
}

export function resolveMailbox(tx: ReadTx, ref: string): Mailbox {
  if (isReservedName(ref)) return { key: SUPERVISOR, name: SUPERVISOR, agent: null };
  const agent = resolveAgent(tx, ref);
  return { key: agent.id, name: agent.name, agent };
}

/** Stopped and errored agents get no new work: it would be orphaned at once. */
export function assertAcceptsWork(agent: AgentRecord): void {
  if (agent.state === 'stopped' || agent.state === 'error') {
    throw new OpError('agent.state_conflict', `Agent ${quote(agent.name)} is ${agent.state}; restart it first.`, {
      current_state: agent.state,
    });
  }
}

export function putAgent(tx: WriteTx, agent: AgentRecord): void {
  tx.put('agents', agent.id, agent);
}
