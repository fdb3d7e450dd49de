// Reads an operation's query-carried input fields from a query string. Values
// arrive as strings, so integers and booleans are converted first; each field
// is checked against its schema here, before the body is read, so a bad query
// costs nothing more. Undeclared parameters are ignored (cache-busters and
// the like are common in the wild).
import type { FieldError } from '../errors.js';
import { validate, type Schema } from '../operations/schema.js';

export interface QueryInput {
  values: Record<string, unknown>;
  errors: FieldError[];
}

export function readQuery(declared: ReadonlyMap<string, Schema>, query: URLSearchParams): QueryInput {
  const values: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const [name, schema] of declared) {
    const all = query.getAll(name);
    if (all.length === 0) continue;
    const pointer = `/${name}`;
    if (all.length > 1) {
      errors.push({ pointer, message: 'must be given at most once' });
      continue;
    }
    const raw = all[0]!;
    let value: unknown = raw;
    if (schema.type === 'integer') {
      if (!/^-?\d{1,15}$/.test(raw)) {
        errors.push({ pointer, message: 'must be an integer' });
        continue;
      }
      value = Number(raw);
    } else if (schema.type === 'boolean') {
      if (raw !== 'true' && raw !== 'false') {
        errors.push({ pointer, message: 'must be true or false' });
        continue;
      }
      value = raw === 'true';
    }
    const problems = validate(schema, value, pointer);
    if (problems.length > 0) errors.push(...problems);
    else values[name] = value;
  }
  return { values, errors };
}
