// The operation table: everything a caller can do to the town, whatever the
// transport. The HTTP bindings (src/http/http-bindings.ts) and the MCP tools
// (src/mcp/) are built from this one list.
import { createCrsDesk, type CrsDesk } from '../town/crs-desk.js';
import type { Town } from '../town/town.js';
import { agentOperations } from './agent-operations.js';
import { backlogOperations } from './backlog-operations.js';
import { crsOperations } from './crs-operations.js';
import { messageOperations } from './message-operations.js';
import type { AnyOperation } from './operation.js';
import { recoveryOperations } from './recovery-operations.js';
import { statusOperations, type StatusDeps } from './status-operations.js';
import { taskOperations } from './task-operations.js';

/** `crs`: the desk behind Buttercup's task API (main.ts shares it with the deadline timer). */
export function townOperations(town: Town, status: StatusDeps, crs: CrsDesk = createCrsDesk(town)): AnyOperation[] {
  return [
    ...statusOperations(town, status),
    ...agentOperations(town),
    ...taskOperations(town),
    ...backlogOperations(town),
    ...messageOperations(town),
    ...recoveryOperations(town),
    ...crsOperations(crs, status.version),
  ];
}
