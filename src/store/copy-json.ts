// The copy a put stores: what JSON.parse(JSON.stringify(value)) would give,
// deep-frozen, plus its JSON text for the journal.
//
// Every put used to stringify, parse the text back and then freeze the parsed
// tree: three walks. Records are almost always plain data (objects, arrays,
// strings, finite numbers, booleans, null), and for those one walk can copy
// and freeze at once; the text is then stringified from the copy, so the
// journal holds exactly what memory holds. Anything else (a Date or any
// toJSON, undefined or a function inside, a class instance, NaN, a
// `__proto__` key, nesting deeper than MAX_DEPTH, which includes cycles)
// takes the old way, whose JSON rules (or TypeError) then apply unchanged.
import { freezeJson } from './freeze-json.js';

const MAX_DEPTH = 64;
/** Returned from a walk that met something JSON would transform. */
const NOT_PLAIN: unique symbol = Symbol('not plain JSON');

export interface JsonCopy {
  value: unknown;
  json: string;
}

/** A frozen JSON copy of `value` and its text; throws TypeError when the value has no JSON form. */
export function copyJson(value: unknown): JsonCopy {
  const copy = plainCopy(value, 0);
  if (copy !== NOT_PLAIN) return { value: copy, json: JSON.stringify(copy) };
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new TypeError('record value must be JSON-serialisable');
  return { value: freezeJson(JSON.parse(json) as unknown), json };
}

function plainCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // JSON has no NaN or Infinity, and -0 comes back as 0.
      if (!Number.isFinite(value)) return NOT_PLAIN;
      return value === 0 ? 0 : value;
    case 'object':
      if (value === null) return null;
      if (depth >= MAX_DEPTH) return NOT_PLAIN;
      return Array.isArray(value) ? arrayCopy(value, depth + 1) : objectCopy(value, depth + 1);
    default:
      return NOT_PLAIN; // undefined, functions, symbols, bigints
  }
}

function arrayCopy(value: unknown[], depth: number): unknown {
  if (Object.getPrototypeOf(value) !== Array.prototype) return NOT_PLAIN;
  const out: unknown[] = [];
  for (let i = 0; i < value.length; i++) {
    const child = plainCopy(value[i], depth); // a hole reads as undefined: not plain
    if (child === NOT_PLAIN) return NOT_PLAIN;
    out.push(child);
  }
  return Object.freeze(out);
}

function objectCopy(value: object, depth: number): unknown {
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || 'toJSON' in value) return NOT_PLAIN;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    // Assigning `__proto__` would set the copy's prototype instead of a property.
    if (key === '__proto__') return NOT_PLAIN;
    const child = plainCopy(source[key], depth);
    if (child === NOT_PLAIN) return NOT_PLAIN;
    out[key] = child;
  }
  return Object.freeze(out);
}
