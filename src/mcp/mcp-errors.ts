// The one place MCP turns an operation's error into its own shape:
// - in `tools/call`, every failure of the operation is a tool error (a result
//   with `isError: true`), so the model sees it and can correct itself; its
//   text is JSON `{"error": {code, message, ...}}` with the field problems or
//   the missing scope;
// - in `resources/read` and `prompts/get`, a JSON-RPC error (not found ->
//   MCP's -32002, invalid -> -32602, scope -> -32003, the rest -32000/-32603).
//
// Security: messages are the `detail` strings the town wrote; an unexpected
// error becomes a fixed message and is logged by the caller, never sent.
import { OpError, type ErrorCode, type ErrorExtras } from '../errors.js';
import { StoreUnavailableError } from '../store/store-errors.js';
import { RPC, RpcError } from './json-rpc.js';

export interface ToolErrorResult {
  content: Array<{ type: 'text'; text: string }>;
  isError: true;
}

/** Any error -> an OpError we may show (unexpected ones become `server.internal`). */
export function toOpError(err: unknown): OpError {
  if (err instanceof OpError) return err;
  if (err instanceof StoreUnavailableError) {
    return new OpError('store.unavailable', 'The data store cannot accept requests; an operator must look at the server log.', { retry_after_secs: 30 });
  }
  return new OpError('server.internal', 'An unexpected error occurred; the request id identifies it in the server log.');
}

function errorBody(error: OpError): { code: ErrorCode; message: string } & ErrorExtras {
  return { code: error.code, message: error.detail, ...error.extras };
}

export function toolError(error: OpError): ToolErrorResult {
  return { content: [{ type: 'text', text: JSON.stringify({ error: errorBody(error) }) }], isError: true };
}

const RPC_CODES: Partial<Record<ErrorCode, number>> = {
  'agent.not_found': RPC.RESOURCE_NOT_FOUND,
  'task.not_found': RPC.RESOURCE_NOT_FOUND,
  'input.invalid': RPC.INVALID_PARAMS,
  'scope.denied': RPC.FORBIDDEN,
  'server.internal': RPC.INTERNAL_ERROR,
};

/** For resources and prompts: the JSON-RPC error to answer with. */
export function toRpcError(error: OpError): RpcError {
  return new RpcError(RPC_CODES[error.code] ?? RPC.SERVER_ERROR, error.detail, errorBody(error));
}
