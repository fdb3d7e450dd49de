// JSON-RPC 2.0 framing for MCP: classify what a client sent (request,
// notification, response, or something invalid), and build responses.
// Knows nothing of HTTP, stdio or MCP methods.
//
// Security: error messages are strings we wrote; nothing the client sent is
// echoed back except its request id (bounded in size).

export type JsonRpcId = string | number;

/** The JSON-RPC error codes we answer with (the spec's, plus MCP's resource-not-found and our own server range). */
export const RPC = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Implementation-defined: the transport refused the request (session, headers, limits). */
  SERVER_ERROR: -32000,
  /** Ours: the Mcp-Session-Id names no live session of this caller. */
  SESSION_NOT_FOUND: -32001,
  /** MCP: the resource URI names nothing. */
  RESOURCE_NOT_FOUND: -32002,
  /** Ours: the caller's scopes do not allow this. */
  FORBIDDEN: -32003,
} as const;

export interface JsonRpcRequest {
  kind: 'request';
  id: JsonRpcId;
  method: string;
  params: Record<string, unknown>;
}
export interface JsonRpcNotification {
  kind: 'notification';
  method: string;
  params: Record<string, unknown>;
}
/** A response from the client (we send no requests, so these are accepted and dropped). */
export interface JsonRpcClientResponse {
  kind: 'response';
}
export interface JsonRpcInvalid {
  kind: 'invalid';
  /** The id when one could be read, so the client can match the error. */
  id: JsonRpcId | null;
  code: number;
  message: string;
}
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcClientResponse | JsonRpcInvalid;

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** An error a method handler throws to answer with a JSON-RPC error. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

const MAX_ID_LENGTH = 256;
const MAX_METHOD_LENGTH = 128;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readId(value: unknown): JsonRpcId | null | undefined {
  if (typeof value === 'string') return value.length <= MAX_ID_LENGTH ? value : null;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  return value === undefined ? undefined : null;
}

/** Classifies one decoded JSON value as a JSON-RPC message. */
export function classifyMessage(value: unknown): JsonRpcMessage {
  if (!isObject(value)) return { kind: 'invalid', id: null, code: RPC.INVALID_REQUEST, message: 'A JSON-RPC message must be an object.' };
  const id = readId(value['id']);
  if (value['jsonrpc'] !== '2.0') return { kind: 'invalid', id: id ?? null, code: RPC.INVALID_REQUEST, message: 'The "jsonrpc" member must be "2.0".' };
  const method = value['method'];
  if (method === undefined) {
    if (id !== undefined && id !== null && (Object.hasOwn(value, 'result') || Object.hasOwn(value, 'error'))) return { kind: 'response' };
    return { kind: 'invalid', id: id ?? null, code: RPC.INVALID_REQUEST, message: 'A JSON-RPC request needs a "method".' };
  }
  if (typeof method !== 'string' || method === '' || method.length > MAX_METHOD_LENGTH) {
    return { kind: 'invalid', id: id ?? null, code: RPC.INVALID_REQUEST, message: 'The "method" member must be a non-empty string.' };
  }
  if (id === null) return { kind: 'invalid', id: null, code: RPC.INVALID_REQUEST, message: 'A request id must be a string or an integer (not null).' };
  const params = value['params'];
  if (params !== undefined && !isObject(params)) {
    return { kind: 'invalid', id: id ?? null, code: id === undefined ? RPC.INVALID_REQUEST : RPC.INVALID_PARAMS, message: 'The "params" member must be an object.' };
  }
  const p = (params ?? {}) as Record<string, unknown>;
  return id === undefined ? { kind: 'notification', method, params: p } : { kind: 'request', id, method, params: p };
}

export type Payload = { kind: 'single'; message: JsonRpcMessage } | { kind: 'batch'; messages: JsonRpcMessage[] } | { kind: 'invalid'; error: JsonRpcResponse };

/** Classifies a decoded body: one message, a batch of at most `maxBatch`, or an error to answer with. */
export function classifyPayload(value: unknown, maxBatch: number): Payload {
  if (!Array.isArray(value)) return { kind: 'single', message: classifyMessage(value) };
  if (value.length === 0) return { kind: 'invalid', error: errorResponse(null, RPC.INVALID_REQUEST, 'An empty batch is not a valid request.') };
  if (value.length > maxBatch) return { kind: 'invalid', error: errorResponse(null, RPC.INVALID_REQUEST, `A batch may hold at most ${maxBatch} messages.`) };
  return { kind: 'batch', messages: value.map(classifyMessage) };
}

export function resultResponse(id: JsonRpcId, result: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, result };
}

export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}
