// Gathers an operation's input from where its HTTP binding says each field
// travels: the query string (converted and checked first, before the body is
// read), the JSON body (bounded; Buttercup-style bindings read it leniently),
// and the path. A field that travels in the path or query is refused in the
// body, like an unknown one. The operation layer validates the whole input.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FieldError } from '../errors.js';
import { hasBody, readJsonBody } from './body.js';
import { continueOnce } from './exchange-end.js';
import { laxBody } from './fastapi-errors.js';
import { invalidBody, invalidQuery } from './http-errors.js';
import { readQuery } from './query.js';
import type { BoundRoute } from './route.js';

const EMPTY_QUERY = new URLSearchParams();

export interface BodyLimits {
  maxBodyBytes: number;
  /** Named limits a binding may choose instead (`bodyLimit`). */
  bodyLimits?: Readonly<Record<string, number>> | undefined;
}

/** Body fields, checked against where the binding says each input field travels; `null`: a route that takes none. */
export function bodyInput(route: BoundRoute | null, body: unknown, input: Record<string, unknown>): void {
  if (body === undefined) return;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidBody([{ pointer: '/', message: 'must be an object' }]);
  const misplaced: FieldError[] = [];
  for (const key of Object.keys(body)) {
    if (route === null || (!route.bodyFields.has(key) && Object.hasOwn(route.op.input.properties, key))) {
      misplaced.push({ pointer: `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, message: 'is not a known field' });
    }
    input[key] = (body as Record<string, unknown>)[key];
  }
  if (misplaced.length > 0) throw invalidBody(misplaced);
}

/** Reads the body of a route that takes no input: an empty body or `{}` at most. */
export async function readNoInput(req: IncomingMessage, res: ServerResponse, limits: BodyLimits): Promise<void> {
  if (hasBody(req)) bodyInput(null, await readJsonBody(req, limits.maxBodyBytes, continueOnce(req, res)), Object.create(null) as Record<string, unknown>);
}

/**
 * The operation's input from the query string `query` (without '?'), the body
 * and the path parameters; synchronous when the request has no body. The
 * body, once read, is also left in `seen.body`, so a Buttercup-style error
 * answer can quote it even when the input is refused.
 */
export function readOperationInput(
  route: BoundRoute,
  req: IncomingMessage,
  res: ServerResponse,
  query: string | null,
  params: Readonly<Record<string, string>>,
  limits: BodyLimits,
  seen: { body: unknown },
): Record<string, unknown> | Promise<Record<string, unknown>> {
  const input: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const { binding } = route;
  const fastapi = binding.errorStyle === 'fastapi';
  if (route.queryFields.size > 0) {
    const read = readQuery(route.queryFields, query === null ? EMPTY_QUERY : new URLSearchParams(query));
    if (read.errors.length > 0) throw invalidQuery(read.errors);
    Object.assign(input, read.values);
  }
  if (!hasBody(req)) return withBody(route, undefined, input, params, fastapi, seen);
  const limit = binding.bodyLimit === undefined ? limits.maxBodyBytes : (limits.bodyLimits?.[binding.bodyLimit] ?? limits.maxBodyBytes);
  return readJsonBody(req, limit, continueOnce(req, res), fastapi).then((body) => withBody(route, body, input, params, fastapi, seen));
}

function withBody(route: BoundRoute, body: unknown, input: Record<string, unknown>, params: Readonly<Record<string, string>>, fastapi: boolean, seen: { body: unknown }): Record<string, unknown> {
  seen.body = body;
  bodyInput(route, fastapi ? laxBody(route.op.input, body, route.bodyFields) : body, input);
  for (const name of route.pathFields) input[name] = params[name] ?? '';
  return input;
}
