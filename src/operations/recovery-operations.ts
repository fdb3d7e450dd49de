// Operations that recover from dead agents: recover, reclaim, orphan tasks.
import { ORPHAN_ACTIONS } from '../town/recovery.js';
import type { Town } from '../town/town.js';
import { defineOperation, type AnyOperation } from './operation.js';
import { arr, bool, int, obj, record, str } from './schema.js';
import { agentRef, taskSchema } from './town-schemas.js';

export function recoveryOperations(town: Town): AnyOperation[] {
  return [
    defineOperation({
      name: 'recovery.recover_agents', summary: 'Stop agents whose heartbeat is older than the timeout', scope: 'agent.manage', mutates: true, repeatable: true,
      input: obj({}),
      output: record({ checked: int({ minimum: 0 }), recovered: int({ minimum: 0 }), agents: arr(str(), { description: 'Names of the stopped agents.' }) }),
      run: () => town.recover(),
    }),
    defineOperation({
      name: 'recovery.reclaim_tasks', summary: 'Move the unfinished work of stopped agents to the backlog or another agent', scope: 'agent.manage', mutates: true,
      description: 'Without a destination (`to_backlog` or `to`) it only lists what would move.',
      input: obj({
        to_backlog: bool(),
        to: { ...agentRef, description: 'Destination agent.' },
        from: { ...agentRef, description: 'Only this stopped or errored agent.' },
      }),
      output: record({ reclaimed: int({ minimum: 0 }), destination: str(), tasks: arr(str()) }),
      errors: ['agent.not_found', 'agent.state_conflict'],
      run: (_ctx, input) => town.reclaim(input),
    }),
    defineOperation({
      name: 'recovery.orphan_tasks', summary: 'List, re-queue or cancel tasks whose agent is gone or not running', scope: 'agent.manage', mutates: true,
      input: obj({ action: str({ enum: ORPHAN_ACTIONS }) }, { required: ['action'] }),
      output: record({ action: str({ enum: ORPHAN_ACTIONS }), count: int({ minimum: 0 }), tasks: arr(taskSchema) }),
      run: (_ctx, input) => town.orphanTasks(input.action),
    }),
  ];
}
