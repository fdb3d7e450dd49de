// Checks a query string against a route's declared parameters, the same
// declarations /openapi.json publishes. Values arrive as strings, so integers
// are converted first; undeclared parameters are ignored (cache-busters and
// the like are common in the wild), declared ones must be valid.
import type { FieldError } from '../errors.js';
import { validate, type Schema } from './schema.js';

export function validateQuery(declared: Readonly<Record<string, Schema>>, query: URLSearchParams): FieldError[] {
  const errors: FieldError[] = [];
  for (const [name, schema] of Object.entries(declared)) {
    const values = query.getAll(name);
    if (values.length === 0) continue;
    const pointer = `/${name}`;
    if (values.length > 1) {
      errors.push({ pointer, message: 'must be given at most once' });
      continue;
    }
    const raw = values[0]!;
    if (schema.type === 'integer') {
      if (!/^-?\d{1,15}$/.test(raw)) errors.push({ pointer, message: 'must be an integer' });
      else errors.push(...validate(schema, Number(raw), pointer));
    } else if (schema.type === 'boolean') {
      if (raw !== 'true' && raw !== 'false') errors.push({ pointer, message: 'must be true or false' });
    } else {
      errors.push(...validate(schema, raw, pointer));
    }
  }
  return errors;
}
