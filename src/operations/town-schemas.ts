// The schemas the town's operations share: input fields (names, references,
// texts, paging) and the records they answer with. Output schemas document
// exactly what the town's views return (a test checks real answers against
// them), so generated clients get real types.
import { AGENT_NAME_PATTERN, AGENT_STATES, MAX_NAME_LENGTH, MAX_TEXT_BYTES, MESSAGE_KINDS, TASK_STATES } from '../town/records.js';
import { arr, bool, extend, int, nullable, record, str } from './schema.js';

export const MAX_WAIT_SECS = 30;

// ---- input fields ----
export const name = str({ minLength: 1, maxLength: MAX_NAME_LENGTH, pattern: AGENT_NAME_PATTERN, description: 'Letters, digits, ".", "_" and "-".' });
/** An agent named by name or id (ids are UUIDs, well under the name limit). */
export const agentRef = str({ minLength: 1, maxLength: MAX_NAME_LENGTH, description: 'An agent name or id.' });
/** A path-carried reference: bounded by the router (512), so a long one is "not found", not "invalid". */
export const agentPathRef = str({ minLength: 1, maxLength: 512, description: 'An agent name or id.' });
export const taskRef = str({ minLength: 1, maxLength: 512, description: 'A task id.' });
export const text = <const D extends string>(description: D) => str({ minLength: 1, maxBytes: MAX_TEXT_BYTES, description });
export const anyText = <const D extends string>(description: D) => str({ maxBytes: MAX_TEXT_BYTES, description });
export const pageFields = {
  limit: int({ minimum: 1, maximum: 1000, description: 'Items per page (default 100).' }),
  cursor: str({ maxLength: 128, description: 'The `next_cursor` of the previous page.' }),
};
export const tags = arr(str({ minLength: 1, maxLength: MAX_NAME_LENGTH }), { maxItems: 32 });

// ---- records ----
const time = str({ format: 'date-time' });
const count = int({ minimum: 0 });
const nextCursor = nullable(str({ description: 'Pass as `cursor` for the next page; null on the last page.' }));

export const agentSchema = record({
  id: str({ format: 'uuid' }),
  name: str(),
  cli: str(),
  role_id: nullable(str()),
  nickname: nullable(str()),
  parent_agent_id: nullable(str()),
  state: str({ enum: AGENT_STATES }),
  current_task: nullable(str()),
  tasks_completed: count,
  created_at: time,
  last_heartbeat: nullable(time),
  last_active_at: nullable(time),
}, 'An agent.');
export const agentWithId = extend(agentSchema, record({ agent_id: str({ format: 'uuid' }) }), 'The agent, with `agent_id`.');

export const taskSchema = record({
  id: str(),
  task_id: str(),
  description: str(),
  tags: arr(str()),
  state: str({ enum: TASK_STATES }),
  assigned_to: nullable(str({ description: 'The agent id.' })),
  result: nullable(str()),
  created_at: time,
  updated_at: time,
  started_at: nullable(time),
  completed_at: nullable(time),
}, 'A task.');
export const assignedTask = extend(taskSchema, record({ agent_id: str(), agent_name: str() }), 'The task, with its agent.');

export const messageSchema = record({
  id: str({ format: 'uuid' }),
  from: str(),
  to: str(),
  to_agent: str({ description: 'The mailbox: the agent id, or `supervisor`.' }),
  kind: str({ enum: MESSAGE_KINDS }),
  body: str(),
  urgent: bool(),
  task_id: nullable(str()),
  created_at: time,
}, 'A message.');
export const messageWithId = extend(messageSchema, record({ message_id: str({ format: 'uuid' }) }), 'The message, with `message_id`.');

export const page = { count, total: count, next_cursor: nextCursor };
export const counts = { count };
export const stateCounts = <const K extends readonly string[]>(keys: K) =>
  record(Object.fromEntries(keys.map((k) => [k, count])) as { [P in K[number]]: typeof count });
export const agentStateCounts = stateCounts(AGENT_STATES);
export const taskStateCounts = stateCounts(TASK_STATES);
export { count as countSchema, time as timeSchema };
