// The shape of one route declaration. Every route is declared once, in a route
// table, with its method, path pattern, access decision and body schema; the
// router, the authorizer, the body reader and /openapi.json all read the same
// declaration.
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { RouteAccess } from '../auth/scopes.js';
import type { Schema } from './schema.js';
import type { ErrorCode } from '../errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestContext {
  readonly requestId: string;
  readonly principal: Principal;
  /** Decoded path parameters (null-prototype object). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body, already validated against `route.body` (undefined when none was sent). */
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  /** Aborted when the client goes away or the server shuts down (for long-polls). */
  readonly signal: AbortSignal;
}

export interface RouteResult {
  status: number;
  /** JSON-serialisable body; omitted for 204. */
  body?: unknown;
  /** Extra response headers; content type is set by the server. */
  headers?: Record<string, string>;
  /** For non-JSON bodies (Prometheus text). */
  contentType?: string;
}

export interface RouteDef {
  method: Method;
  /** Pattern with `{name}` segments, e.g. `/v1/agents/{agent}/inbox`. */
  path: string;
  access: RouteAccess;
  summary: string;
  /** Request body schema; a route without one accepts no body fields (an empty or `{}` body is fine). */
  body?: Schema;
  /** Query parameters the route understands, for OpenAPI. */
  query?: Readonly<Record<string, Schema>>;
  /** Error codes this route may answer with besides the generic ones, for OpenAPI. */
  errors?: readonly ErrorCode[];
  /** Success status codes and a description, for OpenAPI. */
  success: Readonly<Record<number, string>>;
  /** Honours `Idempotency-Key` (POSTs that create something). */
  idempotent?: boolean;
  /** A long-poll: not cut by request_timeout_ms. */
  longPoll?: boolean;
  handler(ctx: RequestContext): Promise<RouteResult> | RouteResult;
}
