// MCP resources, as Tinytown names them. Each is read through the matching
// read operation (so scopes and audit apply exactly as for the tool):
//   tinytown://town/current        -> town.get_status
//   tinytown://agents              -> agent.list (first 1000)
//   tinytown://backlog             -> backlog.list (first 1000)
//   tinytown://agents/{agent_name} -> agent.get
//   tinytown://tasks/{task_id}     -> task.get (any task, not only backlog ones)
import type { Principal } from '../auth/principal.js';
import { hasScope } from '../auth/scopes.js';
import type { AnyOperation } from '../operations/operation.js';
import { RPC, RpcError } from './json-rpc.js';
import { requireOperations, type McpCaller } from './mcp-caller.js';

interface FixedResource {
  uri: string;
  name: string;
  title: string;
  description: string;
  operation: string;
  input: Record<string, unknown>;
}

interface TemplateResource {
  uriTemplate: string;
  /** The URI's prefix before its one variable. */
  prefix: string;
  name: string;
  title: string;
  description: string;
  operation: string;
  /** The operation's input field the variable fills. */
  field: string;
}

const LIST_LIMIT = 1000;

const FIXED: readonly FixedResource[] = [
  { uri: 'tinytown://town/current', name: 'town', title: 'Town status', description: 'The town: name, version, agent and task counts.', operation: 'town.get_status', input: {} },
  { uri: 'tinytown://agents', name: 'agents', title: 'Agents', description: `Every agent (the first ${LIST_LIMIT}).`, operation: 'agent.list', input: { limit: LIST_LIMIT } },
  { uri: 'tinytown://backlog', name: 'backlog', title: 'Backlog', description: `The backlog in order (the first ${LIST_LIMIT}).`, operation: 'backlog.list', input: { limit: LIST_LIMIT } },
];

const TEMPLATES: readonly TemplateResource[] = [
  { uriTemplate: 'tinytown://agents/{agent_name}', prefix: 'tinytown://agents/', name: 'agent', title: 'Agent', description: 'One agent, by name or id.', operation: 'agent.get', field: 'agent' },
  { uriTemplate: 'tinytown://tasks/{task_id}', prefix: 'tinytown://tasks/', name: 'task', title: 'Task', description: 'One task by id, wherever it is (backlog, assigned, done).', operation: 'task.get', field: 'task_id' },
];

const MIME = 'application/json';
const MAX_URI_LENGTH = 2048;

export interface ResourceCatalog {
  list(principal: Principal): Array<Record<string, unknown>>;
  templates(principal: Principal): Array<Record<string, unknown>>;
  read(caller: McpCaller, uri: unknown): Promise<{ contents: Array<{ uri: string; mimeType: string; text: string }> }>;
}

export function createResourceCatalog(ops: ReadonlyMap<string, AnyOperation>): ResourceCatalog {
  requireOperations(ops, [...FIXED, ...TEMPLATES].map((r) => r.operation));
  const allowed = (principal: Principal, operation: string): boolean => {
    const scope = ops.get(operation)!.scope;
    return scope === 'public' || hasScope(principal.scopes, scope);
  };

  function target(uri: string): { operation: string; input: Record<string, unknown> } {
    const fixed = FIXED.find((r) => r.uri === uri);
    if (fixed !== undefined) return { operation: fixed.operation, input: { ...fixed.input } };
    for (const t of TEMPLATES) {
      if (!uri.startsWith(t.prefix)) continue;
      const raw = uri.slice(t.prefix.length);
      if (raw === '' || raw.includes('/') || raw.includes('?') || raw.includes('#')) break;
      let value: string;
      try {
        value = decodeURIComponent(raw);
      } catch {
        throw new RpcError(RPC.INVALID_PARAMS, 'The resource URI has malformed percent-encoding.');
      }
      return { operation: t.operation, input: { [t.field]: value } };
    }
    throw new RpcError(RPC.RESOURCE_NOT_FOUND, 'No resource has this URI.', { uri });
  }

  return {
    list: (principal) =>
      FIXED.filter((r) => allowed(principal, r.operation)).map((r) => ({ uri: r.uri, name: r.name, title: r.title, description: r.description, mimeType: MIME })),
    templates: (principal) =>
      TEMPLATES.filter((t) => allowed(principal, t.operation)).map((t) => ({ uriTemplate: t.uriTemplate, name: t.name, title: t.title, description: t.description, mimeType: MIME })),
    async read(caller, uri) {
      if (typeof uri !== 'string' || uri === '' || uri.length > MAX_URI_LENGTH) throw new RpcError(RPC.INVALID_PARAMS, `"uri" must be a string of at most ${MAX_URI_LENGTH} characters.`);
      const { operation, input } = target(uri);
      // Errors go up as they are: the dispatcher maps them to JSON-RPC errors in one place.
      const output = await caller.invoke(ops.get(operation)!, input);
      return { contents: [{ uri, mimeType: MIME, text: JSON.stringify(output, null, 2) }] };
    },
  };
}
