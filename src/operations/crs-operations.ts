// Buttercup's CRS task API as operations: what the AIxCC competition API (and
// Buttercup's UI client, and `curl -u`) call to push tasks into the town's
// backlog, cancel them, broadcast SARIF and read the CRS status. The models
// follow Buttercup's pydantic models (reference: buttercup-task-server.md §4);
// the HTTP binding accepts their lax forms (numeric strings, unknown keys).
import type { CrsDesk } from '../town/crs-desk.js';
import { defineOperation, type AnyOperation } from './operation.js';
import { anyJson, arr, bool, int, map, obj, record, str } from './schema.js';

const id = (description: string) => str({ minLength: 1, maxLength: 256, description });
const ms = (description: string) => int({ description });

const sourceDetail = obj({
  type: str({ enum: ['repo', 'fuzz-tooling', 'diff'] }),
  url: str({ maxLength: 8192 }),
  sha256: str({ maxLength: 128 }),
}, { required: ['type', 'url', 'sha256'] });

const taskDetail = obj({
  task_id: id('The task id (a UUID in practice); the town task is keyed by its lower-case form.'),
  type: str({ enum: ['full', 'delta'] }),
  deadline: ms('Unix milliseconds; an unfinished task fails with result "deadline passed" after it.'),
  focus: str({ maxLength: 4096 }),
  project_name: str({ maxLength: 256 }),
  harnesses_included: bool({ description: 'false: stored as cancelled, with that reason.' }),
  metadata: map(anyJson(), 'String-to-string in the contract; any JSON value accepted.'),
  source: arr(sourceDetail, { maxItems: 64 }),
}, { required: ['task_id', 'type', 'deadline', 'focus', 'project_name', 'harnesses_included', 'metadata', 'source'] });

const sarifDetail = obj({
  sarif_id: id('The broadcast id.'),
  task_id: id('The task it is about.'),
  sarif: map(anyJson(), 'A SARIF document (not checked beyond being an object).'),
  metadata: map(anyJson()),
}, { required: ['sarif_id', 'task_id', 'sarif', 'metadata'] });

/** Buttercup answers `""` to everything but the task POST ("DONE") and the status. */
const empty = str({ enum: [''], description: 'The empty JSON string.' });

/** A UUID in any form pydantic accepts: hyphenated or not, braced, `urn:uuid:`, any case. */
export const UUID_PATTERN = '^(urn:uuid:)?\\{?[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}\\}?$';

/** The canonical lower-case hyphenated form of a UUID that matched UUID_PATTERN. */
export function canonicalUuid(value: string): string {
  const hex = value.replace(/^urn:uuid:/i, '').replace(/[{}-]/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const count = int({ minimum: 0 });

export function crsOperations(desk: CrsDesk, version: string): AnyOperation[] {
  return [
    defineOperation({
      name: 'crs.submit_tasks', summary: 'Push CRS tasks into the backlog (Buttercup POST /v1/task/)', scope: 'town.write', mutates: true, repeatable: true,
      description: 'Each task detail becomes one backlog task tagged `crs`, `crs:<type>` and `project:<name>`. A repeated `message_id` or a known task id is not queued twice.',
      input: obj({ message_id: id('Message id; a retried message is not queued twice.'), message_time: ms('Unix milliseconds.'), tasks: arr(taskDetail, { maxItems: 1000 }) }, { required: ['message_id', 'message_time', 'tasks'] }),
      output: str({ enum: ['DONE'] }),
      run: async (_ctx, input) => {
        await desk.submit(input);
        return 'DONE';
      },
    }),
    defineOperation({
      name: 'crs.cancel_all', summary: 'Cancel every unfinished CRS task (Buttercup DELETE /v1/task/)', scope: 'town.write', mutates: true, destructive: true, repeatable: true,
      input: obj({}),
      output: empty,
      run: async () => {
        await desk.cancelAll();
        return '';
      },
    }),
    defineOperation({
      name: 'crs.cancel_task', summary: 'Cancel one CRS task, even before it arrives (Buttercup DELETE /v1/task/{task_id}/)', scope: 'town.write', mutates: true, destructive: true, repeatable: true,
      input: obj({ task_id: str({ pattern: UUID_PATTERN, description: 'A UUID.' }) }, { required: ['task_id'] }),
      output: empty,
      run: async (_ctx, input) => {
        await desk.cancel(canonicalUuid(input.task_id));
        return '';
      },
    }),
    defineOperation({
      name: 'crs.submit_sarif', summary: 'Store SARIF broadcasts with their tasks (Buttercup POST /v1/sarif/)', scope: 'town.write', mutates: true, repeatable: true,
      description: "Each broadcast is stored with its task and sent as an `info` message to the agent working on it.",
      input: obj({ message_id: id('Message id.'), message_time: ms('Unix milliseconds.'), broadcasts: arr(sarifDetail, { maxItems: 1000 }) }, { required: ['message_id', 'message_time', 'broadcasts'] }),
      output: empty,
      run: async (_ctx, input) => {
        await desk.submitSarif(input);
        return '';
      },
    }),
    defineOperation({
      name: 'crs.get_status', summary: 'CRS status: task counts (Buttercup GET /status/)', scope: 'town.read', mutates: false,
      input: obj({}),
      output: record({
        details: map(str()),
        ready: bool(),
        since: int({ minimum: 0, description: 'Unix ms of the last reset (0: never reset).' }),
        state: record({ tasks: record({ canceled: count, errored: count, failed: count, pending: count, processing: count, succeeded: count, waiting: count }) }),
        version: str(),
      }),
      run: async () => {
        const s = await desk.status();
        return { details: {}, ready: true, since: s.since, state: { tasks: s.tasks }, version };
      },
    }),
    defineOperation({
      name: 'crs.reset_status', summary: 'Reset the CRS status counters (Buttercup DELETE /status/)', scope: 'town.write', mutates: true, repeatable: true,
      input: obj({}),
      output: empty,
      run: async () => {
        await desk.resetStatus();
        return '';
      },
    }),
  ];
}
