// Generates the OpenAPI 3.1 document from the route table: each operation's
// input and output schemas, its binding (path, query, body), scope and
// errors, so the document, the validator and the handlers cannot drift. A
// client generated from it (openapi-typescript) gets real response types.
import { SCOPES } from '../auth/scopes.js';
import type { AuthMode } from '../config/config.js';
import { toJsonSchema, type ObjectSchema } from '../operations/schema.js';
import { HTTP_ERRORS, httpCodesOf, problemType, type HttpCode } from './http-errors.js';
import type { BoundRoute, RawRoute, RouteDef } from './route.js';

export interface OpenApiOptions {
  version: string;
  authMode: AuthMode;
  title?: string;
}

const TAGS: Readonly<Record<string, string>> = {
  server: 'Health, readiness, metrics and this document.',
  town: 'The town as a whole: status, settings, scaling.',
  agent: 'Agents: spawn, list, heartbeat, kill, restart, prune.',
  task: 'Tasks assigned to agents, and the worker side of them.',
  backlog: 'Unassigned work, taken in order.',
  message: 'Mailboxes: send, read, take the next message.',
  recovery: 'Recovering from agents that stopped or vanished.',
  admin: 'Operators: reload the configuration, list the API keys.',
};

const REQUEST_ID_HEADER = {
  description: 'The request id: the client\'s `X-Request-Id` when well-formed (1-128 of `[A-Za-z0-9._:-]`), else one made by the server. Also on the audit line.',
  schema: { type: 'string', maxLength: 128 },
};

function camel(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}

/** Every problem a route can answer with: its own plus those the pipeline adds. */
export function routeErrorCodes(route: RouteDef, secured = true): HttpCode[] {
  const codes = new Set<HttpCode>(['request.bad_path', 'request.timeout', 'server.internal']);
  if (route.access !== 'public' && secured) {
    for (const c of ['auth.unauthorized', 'scope.denied', 'rate.limited', 'auth.busy', 'auth.unavailable'] as const) codes.add(c);
  }
  if (route.method !== 'GET') {
    for (const c of ['body.too_large', 'body.unsupported_media_type', 'body.malformed_json', 'body.invalid'] as const) codes.add(c);
  }
  if (route.kind !== 'operation') {
    for (const c of (route.kind === 'raw' ? route.errors : undefined) ?? []) codes.add(c);
    return [...codes];
  }
  codes.add('store.unavailable');
  codes.add('server.shutting_down');
  if (route.queryFields.size > 0) codes.add('query.invalid');
  if (route.pathFields.length > 0 || route.bodyFields.size > 0) codes.add('body.invalid');
  if (route.op.idempotent === true) codes.add('idempotency.mismatch');
  for (const c of route.op.errors ?? []) for (const h of httpCodesOf(c)) codes.add(h);
  return [...codes];
}

function errorResponses(route: RouteDef, secured: boolean): Record<string, unknown> {
  const byStatus = new Map<number, HttpCode[]>();
  for (const code of routeErrorCodes(route, secured)) {
    const { status } = HTTP_ERRORS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, unknown> = {};
  for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const headers: Record<string, unknown> = { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } };
    if (status === 429 || status === 503) headers['Retry-After'] = { $ref: '#/components/headers/Retry-After' };
    if (status === 401) headers['WWW-Authenticate'] = { description: 'The accepted authentication schemes (RFC 9110, RFC 6750).', schema: { type: 'string' } };
    out[String(status)] = {
      description: `${HTTP_ERRORS[codes[0]!].title}: ${codes.map(problemType).join(', ')}`,
      headers,
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  return out;
}

/** The part of an operation's input that travels in the body. */
function bodySchema(route: BoundRoute): ObjectSchema | null {
  if (route.bodyFields.size === 0) return null;
  const props = Object.fromEntries(Object.entries(route.op.input.properties).filter(([k]) => route.bodyFields.has(k)));
  const required = (route.op.input.required ?? []).filter((k) => route.bodyFields.has(k));
  return { type: 'object', properties: props, required };
}

function boundOperation(route: BoundRoute, security: unknown[] | undefined): Record<string, unknown> {
  const { op } = route;
  const props = op.input.properties;
  const parameters: unknown[] = [
    ...route.pathFields.map((name) => ({ name, in: 'path', required: true, schema: toJsonSchema(props[name]!) })),
    ...[...route.queryFields].map(([name, schema]) => ({ name, in: 'query', required: false, schema: toJsonSchema(schema) })),
  ];
  if (op.idempotent === true) {
    parameters.push({
      name: 'Idempotency-Key', in: 'header', required: false,
      description: 'Retrying with the same key (within 24 h, same caller) replays the first answer instead of acting twice.',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  }
  const body = bodySchema(route);
  const success: Record<string, unknown> = {
    [String(route.status)]: {
      description: op.description ?? op.summary,
      headers: {
        'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' },
        ...(op.idempotent === true ? { 'Idempotent-Replayed': { description: '`true` when this is the stored answer to an earlier request with the same Idempotency-Key.', schema: { type: 'string', enum: ['true'] } } } : {}),
      },
      content: { 'application/json': { schema: toJsonSchema(route.binding.emptyStatus === undefined ? op.output : nonNull(op.output)) } },
    },
  };
  if (route.binding.emptyStatus !== undefined) {
    success[String(route.binding.emptyStatus)] = { description: 'Nothing arrived in time.', headers: { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } } };
  }
  return {
    operationId: route.binding.operationId ?? camel(op.name),
    summary: op.summary,
    description: `${op.description ?? op.summary}. Operation \`${op.name}\` (also an MCP tool); requires ${op.scope === 'public' ? 'no authentication' : `scope \`${op.scope}\``}.`,
    tags: [op.name.split('.')[0]!],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body === null
      ? {}
      : { requestBody: { required: (body.required ?? []).length > 0, content: { 'application/json': { schema: toJsonSchema(body) } } } }),
    ...(security === undefined ? {} : { security }),
    'x-required-scope': op.scope,
    'x-operation': op.name,
    responses: { ...success, ...errorResponses(route, security !== undefined) },
  };
}

function nonNull(schema: BoundRoute['op']['output']): BoundRoute['op']['output'] {
  const { nullable: _nullable, ...rest } = schema;
  return rest as BoundRoute['op']['output'];
}

function rawOperation(route: RawRoute, security: unknown[] | undefined): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(route.success)) {
    const content = route.path === '/metrics'
      ? { 'text/plain': { schema: { type: 'string' } } }
      : { 'application/json': { schema: route.output === undefined ? { type: 'object' } : toJsonSchema(route.output) } };
    responses[status] = { description, headers: { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } }, content };
  }
  return {
    operationId: camel(`server ${route.path}`),
    summary: route.summary,
    description: `${route.summary}. Public: no authentication.`,
    tags: ['server'],
    ...(security === undefined ? {} : { security }),
    'x-required-scope': 'public',
    responses: { ...responses, ...errorResponses(route, security !== undefined) },
  };
}

export function buildOpenApi(routes: readonly RouteDef[], opts: OpenApiOptions): Record<string, unknown> {
  const secured = opts.authMode !== 'none';
  const scopeDocs = Object.fromEntries(SCOPES.map((s) => [s, s === 'admin' ? 'Everything (implies every other scope).' : `The ${s} scope.`]));
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (route.kind === 'handoff') continue; // /mcp speaks JSON-RPC, not REST
    const security = !secured ? undefined : route.access === 'public' ? [] : [{ bearerAuth: [route.access] }, { apiKeyHeader: [route.access] }, { basicAuth: [route.access] }];
    (paths[route.path] ??= {})[route.method.toLowerCase()] = route.kind === 'raw' ? rawOperation(route, security) : boundOperation(route, security);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: opts.title ?? 'Townhall',
      version: opts.version,
      summary: 'HTTP control plane for a town of AI coding agents.',
      description:
        'Spawn and stop agents, assign tasks, keep a backlog, send messages and read inboxes. Every operation is also an MCP tool at `/mcp`. ' +
        'Errors are RFC 7807 problem documents (`application/problem+json`); a 405 carries `Allow`; 429 and 503 carry `Retry-After`; every response carries `X-Request-Id`.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'This server' }],
    // Mode none: nothing is required of any caller (an empty requirement list, not a missing one).
    ...(secured ? {} : { security: [] }),
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      ...(secured
        ? {
            securitySchemes: {
              bearerAuth: { type: 'http', scheme: 'bearer', description: `API key (or, in mode oidc, a JWT) as a bearer token. Scopes: ${JSON.stringify(scopeDocs)}` },
              apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'API key in the X-API-Key header.' },
              basicAuth: { type: 'http', scheme: 'basic', description: 'username = key id, password = token' },
            },
          }
        : {}),
      headers: {
        'X-Request-Id': REQUEST_ID_HEADER,
        'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
      },
      schemas: {
        Problem: {
          type: 'object',
          description: 'An RFC 7807 problem document.',
          required: ['type', 'title', 'status', 'detail', 'request_id'],
          properties: {
            type: { type: 'string', format: 'uri' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            request_id: { type: 'string' },
            errors: {
              type: 'array',
              maxItems: 20,
              items: { type: 'object', required: ['pointer', 'message'], properties: { pointer: { type: 'string' }, message: { type: 'string' } } },
            },
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
