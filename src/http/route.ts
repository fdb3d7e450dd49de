// What the router holds: a route is either an operation bound to a method and
// path (`BoundRoute`, most of the API), or one of the server's own HTTP-only
// routes (`RawRoute`: health, readiness, metrics, the OpenAPI document).
import type { RouteAccess } from '../auth/scopes.js';
import type { AnyOperation } from '../operations/operation.js';
import type { Schema } from '../operations/schema.js';
import type { HttpBinding } from './http-bindings.js';
import type { HttpCode } from './http-errors.js';

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

export type RouteDef = RawRoute | BoundRoute;

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
