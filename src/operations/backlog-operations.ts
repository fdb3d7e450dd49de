// Operations on the backlog: list, add, claim, assign all, remove.
import type { Town } from '../town/town.js';
import { defineOperation, type AnyOperation } from './operation.js';
import { arr, bool, extend, int, obj, record, str } from './schema.js';
import { agentRef, assignedTask, page, pageFields, tags, taskRef, taskSchema, text } from './town-schemas.js';

export function backlogOperations(town: Town): AnyOperation[] {
  return [
    defineOperation({
      name: 'backlog.list', summary: 'List the backlog in order', scope: 'town.read', mutates: false,
      input: obj({ ...pageFields }),
      output: record({ backlog: arr(taskSchema), ...page }, '`{backlog, count, total, next_cursor}`.'),
      run: (_ctx, input) => town.listBacklog(input),
    }),
    defineOperation({
      name: 'backlog.add', summary: 'Add a task to the backlog', scope: 'town.write', mutates: true, idempotent: true,
      input: obj({ description: text('The task description.'), tags }, { required: ['description'] }),
      output: taskSchema,
      run: (ctx, input) => town.addBacklog(input, ctx.commit),
    }),
    defineOperation({
      name: 'backlog.claim', summary: 'Claim a backlog task for an agent', scope: 'town.write', mutates: true,
      input: obj({ task_id: taskRef, agent: agentRef }, { required: ['task_id', 'agent'] }),
      output: assignedTask, errors: ['task.not_found', 'agent.not_found', 'task.not_in_backlog', 'agent.state_conflict'],
      run: (_ctx, input) => town.claimTask(input.task_id, input.agent),
    }),
    defineOperation({
      name: 'backlog.assign_all', summary: 'Assign every backlog task, in order, to one agent', scope: 'town.write', mutates: true,
      input: obj({ agent: agentRef }, { required: ['agent'] }),
      output: record({ assigned: int({ minimum: 0 }), tasks: arr(str(), { description: 'Ids of the assigned tasks.' }), agent_id: str(), agent_name: str() }),
      errors: ['agent.not_found', 'agent.state_conflict'],
      run: (_ctx, input) => town.assignAll(input.agent),
    }),
    defineOperation({
      name: 'backlog.remove', summary: 'Remove a task from the backlog (it becomes cancelled)', scope: 'town.write', mutates: true, destructive: true,
      input: obj({ task_id: taskRef }, { required: ['task_id'] }),
      output: extend(taskSchema, record({ removed: bool({ description: 'Always true.' }) }), 'The cancelled task, with `removed: true`.'),
      errors: ['task.not_found', 'task.not_in_backlog'],
      run: (_ctx, input) => town.removeBacklog(input.task_id),
    }),
  ];
}
