// A small subset of JSON Schema (2020-12, as OpenAPI 3.1 and MCP use) that is
// at once the validator of every operation's input, the published contract of
// its input and output (/openapi.json, MCP tools/list), and, through `Infer`,
// the TypeScript type its `run` receives and returns: one declaration, no
// second copy to drift.
//
// Builders (`str`, `int`, `obj`, ...) keep literal types so `Infer` can see
// which fields are required and which strings an enum allows.
import type { FieldError } from '../errors.js';

interface Doc {
  description?: string;
  nullable?: true;
}
export interface StringSchema extends Doc {
  type: 'string';
  minLength?: number;
  maxLength?: number;
  /** Ours, not JSON Schema: a bound on UTF-8 bytes (published as prose). */
  maxBytes?: number;
  pattern?: string;
  enum?: readonly string[];
  format?: string;
}
export interface IntegerSchema extends Doc {
  type: 'integer';
  minimum?: number;
  maximum?: number;
}
export interface NumberSchema extends Doc {
  type: 'number';
}
export interface BooleanSchema extends Doc {
  type: 'boolean';
}
export interface ArraySchema extends Doc {
  type: 'array';
  items: Schema;
  maxItems?: number;
}
export interface ObjectSchema extends Doc {
  type: 'object';
  properties: Readonly<Record<string, Schema>>;
  required?: readonly string[];
}
/** An object with arbitrary keys, all of one value schema (`additionalProperties`). */
export interface MapSchema extends Doc {
  type: 'map';
  values: Schema;
  maxProperties?: number;
}
/** Any JSON value (`{}` in JSON Schema). */
export interface AnySchema extends Doc {
  type: 'any';
}

export type Schema = StringSchema | IntegerSchema | NumberSchema | BooleanSchema | ArraySchema | ObjectSchema | MapSchema | AnySchema;

// ---- type inference -------------------------------------------------------

type RequiredKeys<S> = S extends { required: readonly (infer R)[] } ? R : never;
type InferObject<P, R> = { -readonly [K in keyof P & R]: Infer<P[K]> } & { -readonly [K in Exclude<keyof P, R>]?: Infer<P[K]> };
// A lookup by `type` rather than a chain of conditional types: the checker
// evaluates only the member it needs, which keeps nested schemas shallow.
interface InferByType<S> {
  string: S extends { enum: readonly (infer E)[] } ? E : string;
  integer: number;
  number: number;
  boolean: boolean;
  array: S extends { items: infer I } ? Array<Infer<I>> : never;
  map: S extends { values: infer V } ? Record<string, Infer<V>> : never;
  object: S extends { properties: infer P } ? InferObject<P, RequiredKeys<S>> : never;
  any: unknown;
}
type InferBase<S> = S extends { type: infer T extends keyof InferByType<S> } ? InferByType<S>[T] : never;
/** The TypeScript type of a value that satisfies schema `S`. */
export type Infer<S> = S extends { nullable: true } ? InferBase<S> | null : InferBase<S>;

// ---- builders ---------------------------------------------------------------

export const str = <const O extends Omit<StringSchema, 'type'>>(opts: O = {} as O) => ({ type: 'string', ...opts }) as { type: 'string' } & O;
export const int = <const O extends Omit<IntegerSchema, 'type'>>(opts: O = {} as O) => ({ type: 'integer', ...opts }) as { type: 'integer' } & O;
export const num = <const O extends Omit<NumberSchema, 'type'>>(opts: O = {} as O) => ({ type: 'number', ...opts }) as { type: 'number' } & O;
export const bool = <const O extends Omit<BooleanSchema, 'type'>>(opts: O = {} as O) => ({ type: 'boolean', ...opts }) as { type: 'boolean' } & O;
export const arr = <const I extends Schema, const O extends Omit<ArraySchema, 'type' | 'items'>>(items: I, opts: O = {} as O) =>
  ({ type: 'array', items, ...opts }) as { type: 'array'; items: I } & O;
export const map = <const V extends Schema>(values: V, description?: string) =>
  ({ type: 'map', values, ...(description === undefined ? {} : { description }) }) as { type: 'map'; values: V; description?: string };
export const anyJson = (description?: string): AnySchema => ({ type: 'any', ...(description === undefined ? {} : { description }) });
/** Allows `null` besides the schema's own values. */
export const nullable = <const S extends Schema>(schema: S) => ({ ...schema, nullable: true }) as S & { nullable: true };

/** An input object: only the listed keys are required. Unknown keys are refused. */
export function obj<const P extends Record<string, Schema>, const R extends readonly (keyof P & string)[] = []>(
  properties: P,
  opts: { required?: R; description?: string } = {},
): { type: 'object'; properties: P; required: R; description?: string } {
  return { type: 'object', properties, required: (opts.required ?? []) as R, ...(opts.description === undefined ? {} : { description: opts.description }) };
}

/** An output record: every key is always present (possibly null). */
export function record<const P extends Record<string, Schema>>(
  properties: P,
  description?: string,
): { type: 'object'; properties: P; required: ReadonlyArray<keyof P & string>; description?: string } {
  return { type: 'object', properties, required: Object.keys(properties) as Array<keyof P & string>, ...(description === undefined ? {} : { description }) };
}

/** Two object schemas as one (the second's fields win); for "the agent, plus `agent_id`". */
export function extend<
  const A extends { type: 'object'; properties: Record<string, Schema>; required: readonly string[] },
  const B extends { type: 'object'; properties: Record<string, Schema>; required: readonly string[] },
>(a: A, b: B, description?: string): { type: 'object'; properties: A['properties'] & B['properties']; required: ReadonlyArray<A['required'][number] | B['required'][number]>; description?: string } {
  return {
    type: 'object',
    properties: { ...a.properties, ...b.properties },
    required: [...new Set([...a.required, ...b.required])],
    ...(description === undefined ? {} : { description }),
  };
}

// ---- validation ---------------------------------------------------------------

/** Validation stops listing after this many problems: a huge bad input must not make a huge answer. */
export const MAX_FIELD_ERRORS = 20;

function escapePointer(key: string): string {
  // Most keys need no escaping: skip the two regex replaces (this runs for every field of every input).
  return key.includes('~') || key.includes('/') ? key.replace(/~/g, '~0').replace(/\//g, '~1') : key;
}

/** Each schema's pattern, compiled once. */
const patterns = new WeakMap<StringSchema, RegExp>();
function patternOf(schema: StringSchema & { pattern: string }): RegExp {
  let re = patterns.get(schema);
  if (re === undefined) patterns.set(schema, (re = new RegExp(schema.pattern)));
  return re;
}

/** Validate `value` against `schema`; returns the problems found (empty = valid), at most MAX_FIELD_ERRORS. */
export function validate(schema: Schema, value: unknown, pointer = ''): FieldError[] {
  const errors: FieldError[] = [];
  check(schema, value, pointer, errors);
  return errors.length > MAX_FIELD_ERRORS ? errors.slice(0, MAX_FIELD_ERRORS) : errors;
}

function check(schema: Schema, value: unknown, pointer: string, errors: FieldError[]): void {
  if (errors.length > MAX_FIELD_ERRORS) return;
  const at = pointer === '' ? '/' : pointer;
  if (value === null && schema.nullable === true) return;
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') {
        errors.push({ pointer: at, message: 'must be a string' });
        return;
      }
      if (schema.minLength !== undefined && value.length < schema.minLength) errors.push({ pointer: at, message: `must be at least ${schema.minLength} characters` });
      if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push({ pointer: at, message: `must be at most ${schema.maxLength} characters` });
      if (schema.maxBytes !== undefined && Buffer.byteLength(value, 'utf8') > schema.maxBytes) errors.push({ pointer: at, message: `must be at most ${schema.maxBytes} bytes` });
      if (schema.pattern !== undefined && !patternOf(schema as StringSchema & { pattern: string }).test(value)) errors.push({ pointer: at, message: `must match ${schema.pattern}` });
      if (schema.enum !== undefined && !schema.enum.includes(value)) errors.push({ pointer: at, message: `must be one of: ${schema.enum.join(', ')}` });
      return;
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) errors.push({ pointer: at, message: 'must be an integer' });
      else if (schema.minimum !== undefined && value < schema.minimum) errors.push({ pointer: at, message: `must be at least ${schema.minimum}` });
      else if (schema.maximum !== undefined && value > schema.maximum) errors.push({ pointer: at, message: `must be at most ${schema.maximum}` });
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) errors.push({ pointer: at, message: 'must be a number' });
      return;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push({ pointer: at, message: 'must be a boolean' });
      return;
    case 'any':
      return;
    case 'array': {
      if (!Array.isArray(value)) {
        errors.push({ pointer: at, message: 'must be an array' });
        return;
      }
      if (schema.maxItems !== undefined && value.length > schema.maxItems) {
        errors.push({ pointer: at, message: `must have at most ${schema.maxItems} items` });
        return;
      }
      for (let i = 0; i < value.length && errors.length <= MAX_FIELD_ERRORS; i++) check(schema.items, value[i], `${pointer}/${i}`, errors);
      return;
    }
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        errors.push({ pointer: at, message: 'must be an object' });
        return;
      }
      const entries = Object.entries(value);
      if (schema.maxProperties !== undefined && entries.length > schema.maxProperties) {
        errors.push({ pointer: at, message: `must have at most ${schema.maxProperties} members` });
        return;
      }
      for (const [key, v] of entries) {
        if (errors.length > MAX_FIELD_ERRORS) return;
        check(schema.values, v, `${pointer}/${escapePointer(key)}`, errors);
      }
      return;
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        errors.push({ pointer: at, message: 'must be an object' });
        return;
      }
      const rec = value as Record<string, unknown>;
      for (const key of schema.required ?? []) {
        // A required field may be null only where its schema says so (outputs); in inputs null means absent.
        const v = rec[key];
        if (v === undefined || (v === null && schema.properties[key]?.nullable !== true)) errors.push({ pointer: `${pointer}/${escapePointer(key)}`, message: 'is required' });
      }
      for (const key in rec) {
        if (!Object.hasOwn(rec, key)) continue;
        if (errors.length > MAX_FIELD_ERRORS) return;
        const v = rec[key];
        const sub = Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
        if (sub === undefined) errors.push({ pointer: `${pointer}/${escapePointer(key)}`, message: 'is not a known field' });
        // null counts as absent: a required null is already reported above.
        else if (v !== undefined && v !== null) check(sub, v, `${pointer}/${escapePointer(key)}`, errors);
      }
      return;
    }
  }
}

/**
 * A validated input object with its null members removed: an absent field and
 * a null one mean the same, so operations see only `undefined` for "not given".
 * An input with none (nearly every one) is returned as it is: the transports
 * build it fresh for this call, and copying it cost more than validating it.
 */
export function withoutNulls(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return Object.create(null) as Record<string, unknown>;
  const rec = value as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    const v = rec[k];
    if (v === null || v === undefined) return copyWithoutNulls(rec);
  }
  return rec;
}

function copyWithoutNulls(rec: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(rec)) if (rec[k] !== null && rec[k] !== undefined) out[k] = rec[k];
  return out;
}

// ---- publishing ---------------------------------------------------------------

/** The schema as standard JSON Schema 2020-12 (for OpenAPI 3.1 and MCP). */
export function toJsonSchema(schema: Schema): Record<string, unknown> {
  const { nullable, ...rest } = schema;
  let out: Record<string, unknown>;
  switch (rest.type) {
    case 'string': {
      const { maxBytes, ...s } = rest;
      out = maxBytes === undefined ? { ...s } : { ...s, description: `${s.description ?? ''} At most ${maxBytes} bytes of UTF-8.`.trim() };
      break;
    }
    case 'array':
      out = { ...rest, items: toJsonSchema(rest.items) };
      break;
    case 'map': {
      const { values, ...m } = rest;
      out = { ...m, type: 'object', additionalProperties: toJsonSchema(values) };
      break;
    }
    case 'any': {
      const { type: _any, ...a } = rest;
      out = { ...a };
      break;
    }
    case 'object': {
      const { required, ...o } = rest;
      out = {
        ...o,
        ...(required !== undefined && required.length > 0 ? { required: [...required] } : {}),
        additionalProperties: false,
        properties: Object.fromEntries(Object.entries(rest.properties).map(([k, v]) => [k, toJsonSchema(v)])),
      };
      break;
    }
    default:
      out = { ...rest };
  }
  if (nullable === true) {
    if (typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
    if (Array.isArray(out['enum'])) out['enum'] = [...(out['enum'] as unknown[]), null];
  }
  return out;
}
