// Generates the OpenAPI 3.1 document from the same route declarations and
// body schemas the server routes and validates with, so the two cannot drift.
import { ERROR_TABLE, problemType, type ErrorCode } from '../errors.js';
import { SCOPES } from '../auth/scopes.js';
import type { RouteDef } from './route.js';
import { toJsonSchema } from './schema.js';

export interface OpenApiOptions {
  version: string;
  title?: string;
}

function operationId(route: RouteDef): string {
  const words = `${route.method.toLowerCase()} ${route.path}`.replace(/[{}]/g, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}

/** Every error code a route can answer with: its own plus those the pipeline adds. */
export function routeErrorCodes(route: RouteDef): ErrorCode[] {
  const codes = new Set<ErrorCode>(['request.bad_path', 'request.timeout', 'server.internal']);
  if (route.access !== 'public') {
    for (const c of ['auth.unauthorized', 'scope.denied', 'rate.limited', 'auth.busy', 'auth.unavailable'] as const) codes.add(c);
  }
  if (route.method !== 'GET') {
    for (const c of ['body.too_large', 'body.unsupported_media_type', 'body.malformed_json'] as const) codes.add(c);
  }
  // A route without a body schema still refuses body fields (422).
  if (route.method !== 'GET') codes.add('body.invalid');
  if (route.query !== undefined) codes.add('query.invalid');
  if (route.idempotent === true) codes.add('idempotency.mismatch');
  for (const c of route.errors ?? []) codes.add(c);
  return [...codes];
}

function responsesFor(route: RouteDef): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(route.success)) {
    responses[status] = status === '204' ? { description } : { description, content: { 'application/json': { schema: { type: 'object' } } } };
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of routeErrorCodes(route)) {
    const { status } = ERROR_TABLE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    responses[String(status)] = {
      description: `${ERROR_TABLE[codes[0]!].title}: ${codes.map(problemType).join(', ')}`,
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  return responses;
}

function operation(route: RouteDef): Record<string, unknown> {
  const pathParams = route.path.split('/').filter((s) => s.startsWith('{')).map((s) => s.slice(1, -1));
  const parameters = [
    ...pathParams.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string', maxLength: 512 } })),
    ...Object.entries(route.query ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema: toJsonSchema(schema) })),
  ];
  if (route.idempotent === true) {
    parameters.push({ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } });
  }
  const scopes = route.access === 'public' ? null : [route.access];
  return {
    operationId: operationId(route),
    summary: route.summary,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: toJsonSchema(route.body) } } } }),
    security: scopes === null ? [] : [{ bearerAuth: scopes }, { apiKeyHeader: scopes }, { basicAuth: scopes }],
    'x-required-scope': route.access,
    responses: responsesFor(route),
  };
}

export function buildOpenApi(routes: readonly RouteDef[], opts: OpenApiOptions): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  const scopeDocs = Object.fromEntries(SCOPES.map((s) => [s, s === 'admin' ? 'Everything (implies every other scope).' : `The ${s} scope.`]));
  return {
    openapi: '3.1.0',
    info: { title: opts.title ?? 'Townhall', version: opts.version, description: 'HTTP control plane for a town of AI coding agents.' },
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: `API key as a bearer token. Scopes: ${JSON.stringify(scopeDocs)}` },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        basicAuth: { type: 'http', scheme: 'basic', description: 'username = key id, password = token' },
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'request_id'],
          properties: {
            type: { type: 'string', format: 'uri' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            request_id: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { pointer: { type: 'string' }, message: { type: 'string' } } } },
            required_scope: { type: 'string', enum: [...SCOPES] },
            current_state: { type: 'string' },
            retry_after_secs: { type: 'integer' },
          },
        },
      },
    },
    'x-scopes': scopeDocs,
  };
}
