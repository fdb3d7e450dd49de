// What the router holds: a route is either an operation bound to a method and
// path (`BoundRoute`, most of the API), one of the server's own HTTP-only
// routes (`RawRoute`: health, readiness, metrics, the OpenAPI document), or a
// route that owns its whole exchange (`HandoffRoute`: MCP at /mcp).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteAccess } from '../auth/scopes.js';
import type { AnyOperation } from '../operations/operation.js';
import type { Schema } from '../operations/schema.js';
import type { HttpBinding } from './http-bindings.js';
import type { HttpCode } from './http-errors.js';
import type { VerifiedPeer } from '../tls/peer-certificate.js';
import type { ResponseHeaders } from './respond.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteResult {
  status: number;
  /** JSON-serialisable body (a string is sent as is); omitted for 204. */
  body?: unknown;
  /** Extra response headers; content type is set by the server. */
  headers?: Record<string, string>;
  /** For non-JSON bodies (Prometheus text). */
  contentType?: string;
}

interface RouteBase {
  method: Method;
  /** Pattern with `{name}` segments, e.g. `/v1/agents/{agent}/inbox`. */
  path: string;
  access: RouteAccess;
  summary: string;
}

export interface RawRoute extends RouteBase {
  kind: 'raw';
  /** Success status codes and a description, for OpenAPI. */
  success: Readonly<Record<number, string>>;
  /** The success body's schema, for OpenAPI. */
  output?: Schema;
  errors?: readonly HttpCode[];
  handler(): Promise<RouteResult> | RouteResult;
}

export interface BoundRoute extends RouteBase {
  kind: 'operation';
  op: AnyOperation;
  binding: HttpBinding;
  /** Success status. */
  status: number;
  /** Input fields carried in the query string, each with its schema. */
  queryFields: ReadonlyMap<string, Schema>;
  /** Input fields carried in the path. */
  pathFields: readonly string[];
  /** Input fields carried in the body (all the rest). */
  bodyFields: ReadonlySet<string>;
}

/** What the pipeline hands a `HandoffRoute`. */
export interface HandoffContext {
  requestId: string;
  /** The client's address (X-Forwarded-For only when trusted). */
  remoteAddr: string;
  /** The response headers so far (request id, no-store, nosniff, Connection). */
  headers: ResponseHeaders;
  /** Aborted when the client goes away or the server shuts down. */
  signal(): AbortSignal;
  /** The TLS-verified client certificate, for the authenticator (null without mTLS). */
  peer: VerifiedPeer | null;
  /** The audit line's extra fields so far (client request id, certificate); the route sets `auth`. */
  auditExtras: { auth: string; clientCert?: string; clientRequestId?: string };
}

/**
 * A route that authenticates, reads, answers and audits by itself (MCP has its
 * own framing, challenges and errors). The pipeline only matches it, gives it
 * a request id and counts it; no request timeout applies (tools may long-poll).
 */
export interface HandoffRoute extends RouteBase {
  kind: 'handoff';
  handler(req: IncomingMessage, res: ServerResponse, ctx: HandoffContext): Promise<void>;
}

export type RouteDef = RawRoute | BoundRoute | HandoffRoute;

/** Binds an operation to HTTP, checking at start-up that the binding fits its input. */
export function bindOperation(op: AnyOperation, binding: HttpBinding): BoundRoute {
  const props = op.input.properties;
  const pathFields = binding.path.split('/').flatMap((s) => (s.startsWith('{') ? [s.slice(1, -1)] : []));
  const queryFields = new Map<string, Schema>();
  for (const name of [...pathFields, ...(binding.query ?? [])]) {
    if (!Object.hasOwn(props, name)) throw new Error(`binding ${binding.method} ${binding.path}: ${op.name} has no input field "${name}"`);
  }
  for (const name of binding.query ?? []) queryFields.set(name, props[name]!);
  const bodyFields = new Set(Object.keys(props).filter((k) => !pathFields.includes(k) && !queryFields.has(k)));
  return {
    kind: 'operation',
    method: binding.method,
    path: binding.path,
    access: op.scope,
    summary: op.summary,
    op,
    binding,
    status: binding.status ?? 200,
    queryFields,
    pathFields,
    bodyFields,
  };
}
