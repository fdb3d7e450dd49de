// The scaling hint published at `GET /api/scaling` (Tinytown's field names),
// for an autoscaler that starts and stops worker processes.
//
// One agent per unfinished task is the desired size, capped by `max_agents`:
//   queue_depth      tasks waiting in the backlog (no agent yet)
//   pending_tasks    tasks assigned to an agent, not started
//   in_flight_tasks  tasks running
//   active_agents    agents that exist and are not stopped, errored or cold
// With no work at all and agents still up, the hint is `scale_to_zero`.
import type { ReadTx } from '../store/store.js';
import { isoTime } from '../clock.js';
import type { AgentRecord, AgentState } from './records.js';
import { BACKLOG, TASKS, TaskBucket } from './town-indexes.js';

export type ScalingRecommendation = 'scale_up' | 'steady' | 'scale_down' | 'scale_to_zero';

export interface ScalingReport {
  town: string;
  timestamp: string;
  queue_depth: number;
  pending_tasks: number;
  in_flight_tasks: number;
  active_agents: number;
  cold_agents: number;
  desired_agents: number;
  max_agents: number;
  scaling_recommendation: ScalingRecommendation;
}

const INACTIVE: readonly AgentState[] = ['stopped', 'error', 'cold'];

export function computeScaling(tx: ReadTx, town: string, maxAgents: number, nowMs: number): ScalingReport {
  const tasks = tx.index(TASKS);
  const queueDepth = tx.index(BACKLOG).count('backlog');
  const pending = tasks.count(TaskBucket.state('assigned'));
  const inFlight = tasks.count(TaskBucket.state('running'));
  let active = 0;
  let cold = 0;
  for (const a of tx.list<AgentRecord>('agents')) {
    if (a.state === 'cold') cold++;
    else if (!INACTIVE.includes(a.state)) active++;
  }
  const work = queueDepth + pending + inFlight;
  const desired = Math.min(Math.max(0, maxAgents), work);
  return {
    town,
    timestamp: isoTime(nowMs),
    queue_depth: queueDepth,
    pending_tasks: pending,
    in_flight_tasks: inFlight,
    active_agents: active,
    cold_agents: cold,
    desired_agents: desired,
    max_agents: maxAgents,
    scaling_recommendation: recommend(work, desired, active),
  };
}

export function recommend(work: number, desired: number, active: number): ScalingRecommendation {
  if (work === 0) return active > 0 ? 'scale_to_zero' : 'steady';
  if (desired > active) return 'scale_up';
  if (desired < active) return 'scale_down';
  return 'steady';
}
