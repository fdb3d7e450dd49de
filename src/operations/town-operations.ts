// The operation table: everything a caller can do to the town, whatever the
// transport. The HTTP bindings (src/http/http-bindings.ts) and the MCP tools
// (src/mcp/) are built from this one list.
import type { Town } from '../town/town.js';
import { agentOperations } from './agent-operations.js';
import { backlogOperations } from './backlog-operations.js';
import { messageOperations } from './message-operations.js';
import type { AnyOperation } from './operation.js';
import { recoveryOperations } from './recovery-operations.js';
import { statusOperations, type StatusDeps } from './status-operations.js';
import { taskOperations } from './task-operations.js';

export function townOperations(town: Town, status: StatusDeps): AnyOperation[] {
  return [
    ...statusOperations(town, status),
    ...agentOperations(town),
    ...taskOperations(town),
    ...backlogOperations(town),
    ...messageOperations(town),
    ...recoveryOperations(town),
  ];
}
