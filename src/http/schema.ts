// A small subset of JSON Schema (2020-12, as OpenAPI 3.1 uses) that we both
// validate request bodies and query strings with and publish in /openapi.json,
// so the document can never disagree with what the server enforces.
import type { FieldError } from '../errors.js';

export type Schema =
  | { type: 'string'; minLength?: number; maxLength?: number; maxBytes?: number; pattern?: string; enum?: readonly string[]; format?: string; description?: string }
  | { type: 'integer'; minimum?: number; maximum?: number; description?: string }
  | { type: 'boolean'; description?: string }
  | { type: 'array'; items: Schema; maxItems?: number; description?: string }
  | { type: 'object'; properties: Readonly<Record<string, Schema>>; required?: readonly string[]; description?: string };

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Validate `value` against `schema`; returns every problem found (empty = valid). */
export function validate(schema: Schema, value: unknown, pointer = ''): FieldError[] {
  const at = pointer === '' ? '/' : pointer;
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') return [{ pointer: at, message: 'must be a string' }];
      const errors: FieldError[] = [];
      if (schema.minLength !== undefined && value.length < schema.minLength) {
        errors.push({ pointer: at, message: `must be at least ${schema.minLength} characters` });
      }
      if (schema.maxLength !== undefined && value.length > schema.maxLength) {
        errors.push({ pointer: at, message: `must be at most ${schema.maxLength} characters` });
      }
      if (schema.maxBytes !== undefined && Buffer.byteLength(value, 'utf8') > schema.maxBytes) {
        errors.push({ pointer: at, message: `must be at most ${schema.maxBytes} bytes` });
      }
      if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
        errors.push({ pointer: at, message: `must match ${schema.pattern}` });
      }
      if (schema.enum !== undefined && !schema.enum.includes(value)) {
        errors.push({ pointer: at, message: `must be one of: ${schema.enum.join(', ')}` });
      }
      return errors;
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return [{ pointer: at, message: 'must be an integer' }];
      if (schema.minimum !== undefined && value < schema.minimum) return [{ pointer: at, message: `must be at least ${schema.minimum}` }];
      if (schema.maximum !== undefined && value > schema.maximum) return [{ pointer: at, message: `must be at most ${schema.maximum}` }];
      return [];
    }
    case 'boolean':
      return typeof value === 'boolean' ? [] : [{ pointer: at, message: 'must be a boolean' }];
    case 'array': {
      if (!Array.isArray(value)) return [{ pointer: at, message: 'must be an array' }];
      if (schema.maxItems !== undefined && value.length > schema.maxItems) {
        return [{ pointer: at, message: `must have at most ${schema.maxItems} items` }];
      }
      return value.flatMap((item, i) => validate(schema.items, item, `${pointer}/${i}`));
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return [{ pointer: at, message: 'must be an object' }];
      }
      const record = value as Record<string, unknown>;
      const errors: FieldError[] = [];
      for (const key of schema.required ?? []) {
        if (record[key] === undefined || record[key] === null) {
          errors.push({ pointer: `${pointer}/${escapePointer(key)}`, message: 'is required' });
        }
      }
      for (const [key, v] of Object.entries(record)) {
        const sub = Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
        if (sub === undefined) {
          errors.push({ pointer: `${pointer}/${escapePointer(key)}`, message: 'is not a known field' });
        } else if (v !== undefined && v !== null) {
          // null counts as absent: a required null is already reported above.
          errors.push(...validate(sub, v, `${pointer}/${escapePointer(key)}`));
        }
      }
      return errors;
    }
  }
}

/** The schema as published in OpenAPI (drops our non-standard `maxBytes`). */
export function toJsonSchema(schema: Schema): Record<string, unknown> {
  switch (schema.type) {
    case 'string': {
      const { maxBytes, ...rest } = schema;
      return maxBytes === undefined ? { ...rest } : { ...rest, description: `${rest.description ?? ''} At most ${maxBytes} bytes of UTF-8.`.trim() };
    }
    case 'array':
      return { ...schema, items: toJsonSchema(schema.items) };
    case 'object':
      return {
        ...schema,
        additionalProperties: false,
        properties: Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, toJsonSchema(v)])),
      };
    default:
      return { ...schema };
  }
}
