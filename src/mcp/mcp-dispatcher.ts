// MCP's methods over the operation table, whatever the transport: the
// initialize result, ping, tools, resources and prompts. A transport parses
// JSON-RPC, finds who is calling (McpCaller) and hands each request here; it
// never throws (every failure is a JSON-RPC error response or a tool error).
import type { ServerLogger } from '../audit/server-logger.js';
import { OpError } from '../errors.js';
import type { AnyOperation } from '../operations/operation.js';
import { errorResponse, resultResponse, RPC, RpcError, type JsonRpcRequest, type JsonRpcResponse } from './json-rpc.js';
import type { McpCaller } from './mcp-caller.js';
import { toOpError, toolError, toRpcError } from './mcp-errors.js';
import { createPromptCatalog } from './prompts.js';
import { negotiateProtocolVersion } from './protocol-version.js';
import { createResourceCatalog } from './resources.js';
import { renameFieldErrors, resolveAliases } from './tinytown-aliases.js';
import { createToolCatalog, toolResult } from './tool-catalog.js';

export interface DispatcherDeps {
  operations: readonly AnyOperation[];
  version: string;
  logger: ServerLogger;
}

export interface McpDispatcher {
  /** The negotiated version and the `initialize` result to answer with. */
  initialize(params: Record<string, unknown>): { protocolVersion: string; result: Record<string, unknown> };
  /** Answers one request (not `initialize`). */
  handle(request: JsonRpcRequest, caller: McpCaller, requestId: string): Promise<JsonRpcResponse>;
}

const INSTRUCTIONS =
  'Townhall controls a town of AI coding agents. Read `tinytown://town/current` or get the `conductor.startup_context` prompt first; ' +
  'tools are named like `agent.spawn`, `backlog.claim`, `task.complete`, and you see only those your key allows.';

type Handler = (params: Record<string, unknown>, caller: McpCaller) => Promise<unknown> | unknown;

function noCursor(params: Record<string, unknown>): void {
  // Every list fits one page: a cursor can only be one we never issued.
  if (params['cursor'] !== undefined) throw new RpcError(RPC.INVALID_PARAMS, 'Unknown cursor: every list is returned in one page.');
}

export function createMcpDispatcher(deps: DispatcherDeps): McpDispatcher {
  const byName = new Map(deps.operations.map((op) => [op.name, op]));
  const tools = createToolCatalog(deps.operations);
  const resources = createResourceCatalog(byName);
  const prompts = createPromptCatalog(byName);

  async function callTool(params: Record<string, unknown>, caller: McpCaller): Promise<unknown> {
    const name = params['name'];
    const tool = typeof name === 'string' ? tools.get(name) : undefined;
    if (tool === undefined) throw new RpcError(RPC.INVALID_PARAMS, typeof name === 'string' ? 'Unknown tool.' : 'Tool call needs a "name".', typeof name === 'string' && name.length <= 128 ? { name } : undefined);
    const args = params['arguments'] ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return toolError(new OpError('input.invalid', 'The tool arguments must be an object.', { errors: [{ pointer: '/', message: 'must be an object' }] }));
    let used: ReadonlyMap<string, string> = new Map();
    try {
      const aliased = resolveAliases(tool.op.name, args as Record<string, unknown>);
      used = aliased.used;
      return toolResult(tool, await caller.invoke(tool.op, aliased.input));
    } catch (err) {
      if (!(err instanceof OpError)) deps.logger.error(`MCP tool ${tool.op.name} failed unexpectedly`, err);
      return toolError(renameFieldErrors(toOpError(err), used));
    }
  }

  const METHODS: Readonly<Record<string, Handler>> = {
    ping: () => ({}),
    'tools/list': (params, caller) => {
      noCursor(params);
      return { tools: tools.visibleTo(caller.principal) };
    },
    'tools/call': callTool,
    'resources/list': (params, caller) => {
      noCursor(params);
      return { resources: resources.list(caller.principal) };
    },
    'resources/templates/list': (params, caller) => {
      noCursor(params);
      return { resourceTemplates: resources.templates(caller.principal) };
    },
    'resources/read': (params, caller) => resources.read(caller, params['uri']),
    'prompts/list': (params, caller) => {
      noCursor(params);
      return { prompts: prompts.list(caller.principal) };
    },
    'prompts/get': (params, caller) => prompts.get(caller, params['name'], params['arguments'], tools.visibleTo(caller.principal)),
  };

  return {
    initialize(params) {
      const protocolVersion = negotiateProtocolVersion(params['protocolVersion']);
      return {
        protocolVersion,
        result: {
          protocolVersion,
          capabilities: { tools: { listChanged: false }, resources: { subscribe: false, listChanged: false }, prompts: { listChanged: false } },
          serverInfo: { name: 'townhall', title: 'Townhall', version: deps.version },
          instructions: INSTRUCTIONS,
        },
      };
    },
    async handle(request, caller, requestId) {
      const handler = Object.hasOwn(METHODS, request.method) ? METHODS[request.method] : undefined;
      if (handler === undefined) return errorResponse(request.id, RPC.METHOD_NOT_FOUND, 'Method not found.');
      try {
        const out = handler(request.params, caller);
        return resultResponse(request.id, out instanceof Promise ? await out : out);
      } catch (err) {
        if (err instanceof RpcError) return errorResponse(request.id, err.code, err.message, err.data);
        if (!(err instanceof OpError)) deps.logger.error(`MCP ${request.method} failed unexpectedly (request ${requestId})`, err);
        const rpc = toRpcError(toOpError(err));
        return errorResponse(request.id, rpc.code, rpc.message, rpc.data);
      }
    },
  };
}
