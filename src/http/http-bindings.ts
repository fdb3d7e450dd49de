// The REST binding of every operation: method, path, success status, and where
// each input field travels. Path parameters come from `{name}` segments, the
// fields listed in `query` from the query string, every other input field from
// the JSON body. These are the URLs Tinytown's clients and ours already use.
import type { Method } from './route.js';

export interface HttpBinding {
  operation: string;
  method: Method;
  path: string;
  /** Success status (default 200). */
  status?: number;
  /** Status when the operation answers null (a long-poll that got nothing). */
  emptyStatus?: number;
  /** Input fields carried in the query string. */
  query?: readonly string[];
  /** When one operation has several bindings, the extra ones need their own OpenAPI operationId. */
  operationId?: string;
}

const PAGE = ['limit', 'cursor'] as const;

export const HTTP_BINDINGS: readonly HttpBinding[] = [
  { operation: 'town.get_status', method: 'GET', path: '/v1/status' },
  { operation: 'town.get_info', method: 'GET', path: '/v1/town' },
  { operation: 'town.get_scaling', method: 'GET', path: '/api/scaling' },

  { operation: 'agent.list', method: 'GET', path: '/v1/agents', query: PAGE },
  { operation: 'agent.spawn', method: 'POST', path: '/v1/agents', status: 201 },
  { operation: 'agent.prune', method: 'POST', path: '/v1/agents/prune' },
  { operation: 'agent.get', method: 'GET', path: '/v1/agents/{agent}' },
  { operation: 'agent.heartbeat', method: 'POST', path: '/v1/agents/{agent}/heartbeat' },
  { operation: 'agent.kill', method: 'POST', path: '/v1/agents/{agent}/kill' },
  { operation: 'agent.restart', method: 'POST', path: '/v1/agents/{agent}/restart' },

  { operation: 'message.inbox', method: 'GET', path: '/v1/agents/{agent}/inbox', query: PAGE },
  // Tinytown's clients read an inbox with POST; it stays a read (not audited as a mutation).
  { operation: 'message.inbox', method: 'POST', path: '/v1/agents/{agent}/inbox', query: PAGE, operationId: 'messageInboxPost' },
  { operation: 'message.next', method: 'POST', path: '/v1/agents/{agent}/inbox/next', query: ['wait'], emptyStatus: 204 },
  { operation: 'message.send', method: 'POST', path: '/v1/messages/send', status: 201 },

  { operation: 'task.assign', method: 'POST', path: '/v1/tasks/assign', status: 201 },
  { operation: 'task.list', method: 'GET', path: '/v1/tasks', query: [...PAGE, 'state', 'agent', 'tag'] },
  { operation: 'task.list_pending', method: 'GET', path: '/v1/tasks/pending', query: PAGE },
  { operation: 'task.get', method: 'GET', path: '/v1/tasks/{task_id}' },
  { operation: 'task.start', method: 'POST', path: '/v1/tasks/{task_id}/start' },
  { operation: 'task.complete', method: 'POST', path: '/v1/tasks/{task_id}/complete' },
  { operation: 'task.fail', method: 'POST', path: '/v1/tasks/{task_id}/fail' },

  { operation: 'backlog.list', method: 'GET', path: '/v1/backlog', query: PAGE },
  { operation: 'backlog.add', method: 'POST', path: '/v1/backlog', status: 201 },
  { operation: 'backlog.assign_all', method: 'POST', path: '/v1/backlog/assign-all' },
  { operation: 'backlog.claim', method: 'POST', path: '/v1/backlog/{task_id}/claim' },
  { operation: 'backlog.remove', method: 'DELETE', path: '/v1/backlog/{task_id}' },

  { operation: 'recovery.recover_agents', method: 'POST', path: '/v1/recover' },
  { operation: 'recovery.reclaim_tasks', method: 'POST', path: '/v1/reclaim' },
  { operation: 'recovery.orphan_tasks', method: 'POST', path: '/v1/reclaim/orphan-tasks' },
];

/** Operator routes (admin.* operations; joined by main.ts with adminOperations). */
export const ADMIN_BINDINGS: readonly HttpBinding[] = [
  { operation: 'admin.reload', method: 'POST', path: '/v1/admin/reload' },
  { operation: 'admin.list_keys', method: 'GET', path: '/v1/admin/keys' },
];
