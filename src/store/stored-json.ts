// The value a put stores and its JSON text for the journal: what
// JSON.parse(JSON.stringify(value)) would give, deep-frozen.
//
// A put hands its value over. Records are almost always plain data (object
// literals and spreads, arrays, strings, finite numbers, booleans, null), and
// those are kept as they are, frozen in place in one walk: no copy to
// allocate, which the scavenger would then have to move (a copy per write cost
// about 1.5 us of a durable POST's 30). The caller's object is the stored one
// from then on; changing it later throws (strict mode), so stored state still
// cannot change behind the store's back. Anything JSON would transform (a Date
// or any toJSON, undefined or a function inside, a class instance, NaN, -0, a
// null prototype, an array with holes or extra properties, nesting deeper
// than MAX_DEPTH, which includes cycles) is stored as a frozen JSON round trip
// instead, whose rules (or TypeError) then apply unchanged. Parts already
// walked when such a value turns up stay frozen: the value was handed over.
// Not looked for, as a check per property would cost what the copy did:
// getters and non-enumerable or symbol-keyed properties. Records are data
// built by literals, spreads and JSON.parse, which have none.
import { freezeJson } from './freeze-json.js';

const MAX_DEPTH = 64;

export interface StoredJson {
  value: unknown;
  json: string;
}

/** The frozen value a put stores and its JSON text; throws TypeError when the value has no JSON form. */
export function storedJson(value: unknown): StoredJson {
  if (freezePlain(value, 0)) return { value, json: JSON.stringify(value) };
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new TypeError('record value must be JSON-serialisable');
  return { value: freezeJson(JSON.parse(json) as unknown), json };
}

/** Whether `value` is plain JSON data that a JSON round trip gives back unchanged; freezes it on the way out if so. */
function freezePlain(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      // JSON has no NaN or Infinity, and -0 comes back as 0.
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object':
      if (value === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (!(Array.isArray(value) ? plainArray(value, depth + 1) : plainObject(value, depth + 1))) return false;
      Object.freeze(value);
      return true;
    default:
      return false; // undefined, functions, symbols, bigints
  }
}

function plainArray(value: unknown[], depth: number): boolean {
  if (Object.getPrototypeOf(value) !== Array.prototype) return false;
  // Extra properties are not JSON; a hole reads as undefined below, which is not plain either.
  if (Object.keys(value).length !== value.length) return false;
  for (let i = 0; i < value.length; i++) if (!freezePlain(value[i], depth)) return false;
  return true;
}

function plainObject(value: object, depth: number): boolean {
  // A null-prototype object comes back from JSON with Object.prototype: copied, so memory matches a replay.
  if (Object.getPrototypeOf(value) !== Object.prototype || 'toJSON' in value) return false;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!freezePlain(record[key], depth)) return false;
  return true;
}
