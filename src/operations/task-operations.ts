// Operations on tasks: assign, list, get, and the worker's start/complete/fail.
import { TASK_STATES, MAX_NAME_LENGTH } from '../town/records.js';
import type { Town } from '../town/town.js';
import { defineOperation, type AnyOperation } from './operation.js';
import { arr, obj, record, str } from './schema.js';
import { agentRef, anyText, assignedTask, page, pageFields, taskRef, taskSchema, text } from './town-schemas.js';

const taskList = record({ tasks: arr(taskSchema), ...page }, '`{tasks, count, total, next_cursor}`.');
const byId = obj({ task_id: taskRef }, { required: ['task_id'] });

export function taskOperations(town: Town): AnyOperation[] {
  return [
    defineOperation({
      name: 'task.assign', summary: 'Create a task and assign it to an agent', scope: 'town.write', mutates: true, idempotent: true,
      input: obj({ agent: agentRef, task: text('The task description.') }, { required: ['agent', 'task'] }),
      output: assignedTask, errors: ['agent.not_found', 'agent.state_conflict'],
      run: (ctx, input) => town.assignTask(input.agent, input.task, ctx.commit),
    }),
    defineOperation({
      name: 'task.list', summary: 'List tasks, filtered by state, agent or tag', scope: 'town.read', mutates: false,
      input: obj({ ...pageFields, state: str({ enum: TASK_STATES }), agent: agentRef, tag: str({ minLength: 1, maxLength: MAX_NAME_LENGTH }) }),
      output: taskList, errors: ['agent.not_found'],
      run: (_ctx, input) => town.listTasks(input, input),
    }),
    defineOperation({
      name: 'task.list_pending', summary: 'Tasks assigned to an agent and not started', scope: 'town.read', mutates: false,
      input: obj({ ...pageFields }),
      output: taskList,
      run: (_ctx, input) => town.listPendingTasks(input),
    }),
    defineOperation({
      name: 'task.get', summary: 'Get a task', scope: 'town.read', mutates: false,
      input: byId, output: taskSchema, errors: ['task.not_found'],
      run: (_ctx, input) => town.getTask(input.task_id),
    }),
    defineOperation({
      name: 'task.start', summary: 'Start an assigned task', scope: 'town.write', mutates: true,
      input: byId, output: taskSchema, errors: ['task.not_found', 'task.state_conflict', 'agent.state_conflict'],
      run: (_ctx, input) => town.startTask(input.task_id),
    }),
    defineOperation({
      name: 'task.complete', summary: 'Complete a task with its result', scope: 'town.write', mutates: true,
      input: obj({ task_id: taskRef, result: anyText('What the task produced.') }, { required: ['task_id', 'result'] }),
      output: taskSchema, errors: ['task.not_found', 'task.state_conflict'],
      run: (_ctx, input) => town.completeTask(input.task_id, input.result),
    }),
    defineOperation({
      name: 'task.fail', summary: 'Fail a task with an error', scope: 'town.write', mutates: true,
      input: obj({ task_id: taskRef, error: anyText('Why the task failed.') }, { required: ['task_id', 'error'] }),
      output: taskSchema, errors: ['task.not_found', 'task.state_conflict'],
      run: (_ctx, input) => town.failTask(input.task_id, input.error),
    }),
  ];
}
