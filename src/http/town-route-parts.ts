// Shared pieces of the town's route declarations: body schemas for names and
// texts, the paging query, and small handler helpers. The route files
// (town-read-routes, town-write-routes, town-manage-routes) use only these.
import type { ErrorCode } from '../errors.js';
import { AGENT_NAME_PATTERN, MAX_NAME_LENGTH, MAX_TEXT_BYTES } from '../town/records.js';
import type { RequestContext, RouteResult } from './route.js';
import type { Schema } from './schema.js';

export const MAX_WAIT_SECS = 30;

export const name: Schema = { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH, pattern: AGENT_NAME_PATTERN, description: 'Letters, digits, ".", "_" and "-".' };
/** An agent named by name or id (ids are UUIDs, well under the name limit). */
export const agentRef: Schema = { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH, description: 'An agent name or id.' };
export const text = (description: string): Schema => ({ type: 'string', minLength: 1, maxBytes: MAX_TEXT_BYTES, description });
export const anyText = (description: string): Schema => ({ type: 'string', maxBytes: MAX_TEXT_BYTES, description });

export const pageQuery: Readonly<Record<string, Schema>> = {
  limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'Items per page (default 100).' },
  cursor: { type: 'string', maxLength: 128, description: 'The `next_cursor` of the previous page.' },
};

export const AGENT_404: ErrorCode[] = ['town.agent_not_found'];

export function param(ctx: RequestContext, key: string): string {
  return ctx.params[key] ?? '';
}

export function bodyOf<T>(ctx: RequestContext): Partial<T> {
  return (ctx.body ?? {}) as Partial<T>;
}

/** `?wait=N` in whole seconds; the pipeline has already checked it against the route's query declaration. */
export function readWait(query: URLSearchParams): number {
  return Number(query.get('wait') ?? 0);
}

export const ok = (body: unknown): RouteResult => ({ status: 200, body });
export const created = (body: unknown): RouteResult => ({ status: 201, body });
