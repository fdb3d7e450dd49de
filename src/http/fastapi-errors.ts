// The shapes Buttercup's clients expect on its task API (FastAPI + pydantic),
// for bindings with `errorStyle: 'fastapi'`:
// - errors are `{"detail": "<text>"}`; 422 is `{"detail": [{type, loc, msg,
//   input}, ...]}` listing every problem, `loc` starting with "body" or "path";
// - input is lax as pydantic's: integers from numeric strings and integral
//   floats, booleans from 0/1 and yes/no-like strings, unknown keys ignored.
// Everything else (authentication, scopes, limits, the operation) is the same
// pipeline as every other route; only the translation lives here.
//
// Security: `detail` texts are ours; `input` echoes only what the caller sent.
import type { ServerResponse } from 'node:http';
import type { FieldError } from '../errors.js';
import type { ObjectSchema, Schema } from '../operations/schema.js';
import type { HttpError } from './http-errors.js';
import { sendJson, type ProblemContext } from './respond.js';

export interface FastApiError {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

const TRUE = new Set(['1', 'true', 't', 'yes', 'y', 'on']);
const FALSE = new Set(['0', 'false', 'f', 'no', 'n', 'off']);

/** Coerces `value` the way pydantic's lax mode would, dropping keys the schema does not know. */
export function laxValue(schema: Schema, value: unknown): unknown {
  switch (schema.type) {
    case 'integer':
      if (typeof value === 'string' && /^\s*[+-]?\d{1,16}\s*$/.test(value)) return Number(value.trim());
      return value;
    case 'boolean':
      if (typeof value === 'string' && TRUE.has(value.toLowerCase())) return true;
      if (typeof value === 'string' && FALSE.has(value.toLowerCase())) return false;
      if (value === 0 || value === 1) return value === 1;
      return value;
    case 'array':
      return Array.isArray(value) ? value.map((v) => laxValue(schema.items, v)) : value;
    case 'object':
      return laxObject(schema, value);
    default:
      return value;
  }
}

function laxObject(schema: ObjectSchema, value: unknown, keep?: ReadonlySet<string>): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(value)) {
    if (!Object.hasOwn(schema.properties, k) || (keep !== undefined && !keep.has(k))) continue;
    out[k] = laxValue(schema.properties[k]!, v);
  }
  return out;
}

/** The request body, lax: only the fields that travel in the body are kept. */
export function laxBody(input: ObjectSchema, body: unknown, bodyFields: ReadonlySet<string>): unknown {
  return body === undefined ? undefined : laxObject(input, body, bodyFields);
}

const unescape = (s: string): string => s.replace(/~1/g, '/').replace(/~0/g, '~');

function at(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function quoteList(values: string[]): string {
  const q = values.map((v) => `'${v}'`);
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

/** One of our field errors as pydantic would word it. */
function translate(e: FieldError, value: unknown, isPath: boolean, isRoot: boolean): Omit<FastApiError, 'loc' | 'input'> {
  const m = e.message;
  let n: RegExpExecArray | null;
  if (m === 'is required') return { type: 'missing', msg: 'Field required' };
  if (m === 'must be a string') return { type: 'string_type', msg: 'Input should be a valid string' };
  if (m === 'must be an integer') {
    if (typeof value === 'string') return { type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer' };
    if (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value)) return { type: 'int_from_float', msg: 'Input should be a valid integer, got a number with a fractional part' };
    return { type: 'int_type', msg: 'Input should be a valid integer' };
  }
  if (m === 'must be a boolean') return typeof value === 'string' ? { type: 'bool_parsing', msg: 'Input should be a valid boolean, unable to interpret input' } : { type: 'bool_type', msg: 'Input should be a valid boolean' };
  if (m === 'must be an array') return { type: 'list_type', msg: 'Input should be a valid list' };
  if (m === 'must be an object') return isRoot ? { type: 'model_attributes_type', msg: 'Input should be a valid dictionary or object to extract fields from' } : { type: 'dict_type', msg: 'Input should be a valid dictionary' };
  if ((n = /^must be one of: (.*)$/.exec(m)) !== null) {
    const expected = quoteList(n[1]!.split(', '));
    return { type: 'enum', msg: `Input should be ${expected}`, ctx: { expected } };
  }
  if (m.startsWith('must match ') && isPath) return { type: 'uuid_parsing', msg: 'Input should be a valid UUID, invalid character or length', ctx: { error: 'invalid character or length' } };
  if (m.startsWith('must match ')) return { type: 'string_pattern_mismatch', msg: `String should match pattern '${m.slice(11)}'` };
  if ((n = /^must be at least (\d+) characters$/.exec(m)) !== null) return { type: 'string_too_short', msg: `String should have at least ${n[1]} character${n[1] === '1' ? '' : 's'}`, ctx: { min_length: Number(n[1]) } };
  if ((n = /^must be at most (\d+) (characters|bytes)$/.exec(m)) !== null) return { type: 'string_too_long', msg: `String should have at most ${n[1]} characters`, ctx: { max_length: Number(n[1]) } };
  if ((n = /^must have at most (\d+) (items|members)$/.exec(m)) !== null) return { type: 'too_long', msg: `List should have at most ${n[1]} items after validation`, ctx: { max_length: Number(n[1]) } };
  if ((n = /^must be at least (-?\d+)$/.exec(m)) !== null) return { type: 'greater_than_equal', msg: `Input should be greater than or equal to ${n[1]}`, ctx: { ge: Number(n[1]) } };
  if ((n = /^must be at most (-?\d+)$/.exec(m)) !== null) return { type: 'less_than_equal', msg: `Input should be less than or equal to ${n[1]}`, ctx: { le: Number(n[1]) } };
  if (m === 'is not a known field') return { type: 'extra_forbidden', msg: 'Extra inputs are not permitted' };
  return { type: 'value_error', msg: `Value error, ${m}` };
}

/**
 * Our field errors as FastAPI's 422 list. `input` is what was validated (path
 * fields and the lax body); `body` the body as sent (undefined: none).
 */
export function fastApiDetail(errors: readonly FieldError[], pathFields: readonly string[], input: Record<string, unknown>, body: unknown): FastApiError[] {
  // No body at all where one is required: FastAPI reports the body itself missing.
  if (body === undefined && errors.length > 0 && errors.every((e) => e.message === 'is required' && !pathFields.includes(e.pointer.split('/')[1] ?? ''))) {
    return [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }];
  }
  return errors.map((e) => {
    const keys = e.pointer === '/' ? [] : e.pointer.split('/').slice(1).map(unescape);
    const isPath = keys.length > 0 && pathFields.includes(keys[0]!);
    const value = keys.length === 0 ? body : at(input, keys);
    const t = translate(e, value, isPath, keys.length === 0);
    const loc: Array<string | number> = [isPath ? 'path' : 'body', ...keys.map((k) => (/^\d+$/.test(k) ? Number(k) : k))];
    const shown = t.type === 'missing' ? at(input, keys.slice(0, -1)) ?? null : value ?? null;
    return { type: t.type, loc, msg: t.msg, input: shown, ...(t.ctx === undefined ? {} : { ctx: t.ctx }) };
  });
}

export interface FastApiContext extends ProblemContext {
  pathFields: readonly string[];
  input: Record<string, unknown>;
  body: unknown;
  /** Offer only HTTP Basic on 401. */
  basicOnly: boolean;
}

/** Sends an error in FastAPI's shape: `{"detail": text}`, or the 422 list. */
export function sendFastApiError(res: ServerResponse, error: HttpError, ctx: FastApiContext): void {
  const { headers, isHead } = ctx;
  const { extras } = error;
  if (error.status === 401) headers['WWW-Authenticate'] = ctx.basicOnly ? 'Basic realm="townhall"' : ['Bearer realm="townhall"', 'Basic realm="townhall"'];
  if (extras.retry_after_secs !== undefined) headers['Retry-After'] = String(extras.retry_after_secs);
  if (extras.allow !== undefined) headers['Allow'] = extras.allow.join(', ');
  let status = error.status;
  let detail: unknown = error.detail;
  if (error.code === 'body.malformed_json') {
    status = 422;
    detail = [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: error.detail } }];
  } else if (status === 422 && extras.errors !== undefined) {
    detail = fastApiDetail(extras.errors, ctx.pathFields, ctx.input, ctx.body);
  }
  sendJson(res, status, { detail }, isHead, headers);
}
