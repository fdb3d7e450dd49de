// Tinytown's MCP tools name a few inputs differently from our operations.
// Clients written for Tinytown send its names, so each tool accepts them as
// aliases: renamed here, before `invoke` validates the input, and named back
// in field errors. The published inputSchema lists only our names (each
// field's description mentions its alias), so new clients see one way.
//
// Why here and not in the operation schemas: REST never had these names, and
// our schema subset cannot say "one of task/description is required", so
// adding them there would weaken the REST contract and /openapi.json.
import type { FieldError } from '../errors.js';
import { OpError, invalidInput } from '../errors.js';

/** Per tool: Tinytown's field name -> ours. */
export const TINYTOWN_ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'task.assign': { description: 'task' },
  'recovery.reclaim_tasks': { to_agent: 'to', from_agent: 'from' },
};

export interface AliasedInput {
  input: Record<string, unknown>;
  /** Our field name -> the alias the client used (to name it back in errors). */
  used: Map<string, string>;
}

/** Renames alias fields to ours; an alias given together with our name is an input error. */
export function resolveAliases(tool: string, args: Record<string, unknown>): AliasedInput {
  const aliases = TINYTOWN_ALIASES[tool];
  const used = new Map<string, string>();
  if (aliases === undefined) return { input: args, used };
  const input: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const clashes: FieldError[] = [];
  for (const [key, value] of Object.entries(args)) {
    const ours = Object.hasOwn(aliases, key) ? aliases[key]! : undefined;
    if (ours === undefined) {
      input[key] = value;
      continue;
    }
    if (Object.hasOwn(args, ours)) clashes.push({ pointer: `/${key}`, message: `is another name for "${ours}"; give only one of them` });
    else {
      input[ours] = value;
      used.set(ours, key);
    }
  }
  if (clashes.length > 0) throw invalidInput(clashes);
  return { input, used };
}

/** Field errors name the field as the client sent it. */
export function renameFieldErrors(error: OpError, used: ReadonlyMap<string, string>): OpError {
  const errors = error.extras.errors;
  if (used.size === 0 || error.code !== 'input.invalid' || errors === undefined) return error;
  const renamed = errors.map((e) => {
    const [, first, ...rest] = e.pointer.split('/');
    const alias = first === undefined ? undefined : used.get(first);
    return alias === undefined ? e : { ...e, pointer: ['', alias, ...rest].join('/') };
  });
  return new OpError(error.code, error.detail, { ...error.extras, errors: renamed });
}

/** The description of one of our fields, mentioning its Tinytown alias. */
export function aliasNote(tool: string, field: string): string | undefined {
  const aliases = TINYTOWN_ALIASES[tool];
  if (aliases === undefined) return undefined;
  const alias = Object.keys(aliases).find((k) => aliases[k] === field);
  return alias === undefined ? undefined : `Also accepted as "${alias}" (Tinytown's name).`;
}
