// Command-line parsing for `townhall-auth-tool`: argv -> one validated command.
//
// Everything is checked here, before any hashing or stdin reading, so a typo
// fails fast with exit 2 instead of printing a key the user did not ask for.
// A flag that does not apply to the chosen subcommand is an error too.
//
// Security: messages echo arguments only where that helps and is safe: an
// unknown scope is named (quoted), a bad number is shown only when it is a
// short number, and an unknown subcommand only when it looks like a command
// word. A token pasted in the wrong place is not repeated to a terminal or log.
import { parseArgs } from 'node:util';
import { DEFAULT_HASH_PARAMS, type Argon2Params } from '../auth/argon2-hash.js';
import { SCOPES, isScope, type Scope } from '../auth/scopes.js';

export const PROG = 'townhall-auth-tool';

export const TOKEN_LENGTH = { default: 64, min: 32, max: 4096 } as const;
// Sane bounds: below these Argon2 refuses; above them a typo would pin the
// machine (4 GiB of memory per hash, minutes of CPU).
export const COST_LIMITS = {
  memoryCost: { min: 8, max: 4_194_304 }, // KiB; also >= 8 * parallelism (Argon2's rule)
  timeCost: { min: 1, max: 100 },
  parallelism: { min: 1, max: 64 },
} as const;
export const DEFAULT_ENV_PREFIX = 'TOWNHALL_';

export type OutputFormat = 'text' | 'env' | 'json';

export type AuthToolCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | {
      kind: 'generate';
      format: OutputFormat;
      envPrefix: string;
      tokenLength: number;
      /** null when --scopes was not given: the key is an admin key. */
      scopes: readonly Scope[] | null;
      params: Argon2Params;
    }
  | { kind: 'hash'; params: Argon2Params }
  | { kind: 'verify'; phc: string };

/** A mistake in the command line: exit 2, message and usage on stderr. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  env: { type: 'boolean' },
  'env-prefix': { type: 'string' },
  json: { type: 'boolean' },
  scopes: { type: 'string' },
  'token-length': { type: 'string' },
  'memory-cost': { type: 'string' },
  'time-cost': { type: 'string' },
  parallelism: { type: 'string' },
  hash: { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;

const COST_FLAGS: readonly OptionName[] = ['memory-cost', 'time-cost', 'parallelism'];
const ALLOWED: Record<'generate' | 'hash' | 'verify', readonly OptionName[]> = {
  generate: ['env', 'env-prefix', 'json', 'scopes', 'token-length', ...COST_FLAGS],
  hash: COST_FLAGS,
  verify: ['hash'],
};

export function parseAuthToolArgs(argv: readonly string[]): AuthToolCommand {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    // Node's messages name only the option; keep the first sentence, drop the advice.
    const message = err instanceof Error ? err.message : 'invalid arguments';
    throw new UsageError(/^[^\n]*?\.(?=\s|$)/.exec(message)?.[0] ?? message.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };

  const [first, ...rest] = positionals;
  const kind = first === undefined ? 'generate' : first === 'hash' || first === 'verify' ? first : null;
  if (kind === null) {
    const shown = /^[a-z][a-z0-9-]{0,15}$/.test(first!) ? ` '${first}'` : '';
    throw new UsageError(`unknown command${shown} (expected no command, 'hash' or 'verify')`);
  }
  for (const name of Object.keys(values) as OptionName[]) {
    if (!ALLOWED[kind].includes(name)) {
      throw new UsageError(`--${name} does not apply to ${kind === 'generate' ? 'creating a key' : `'${kind}'`}`);
    }
  }

  if (kind === 'verify') {
    if (rest.length > 1 || (rest.length === 1 && values.hash !== undefined)) {
      throw new UsageError("'verify' takes exactly one hash (positional or --hash); the token goes on stdin");
    }
    const phc = rest[0] ?? values.hash;
    if (phc === undefined || phc === '') throw new UsageError("'verify' needs a hash: verify <hash> or verify --hash <hash>");
    return { kind: 'verify', phc };
  }
  if (rest.length > 0) {
    throw new UsageError(kind === 'hash' ? "'hash' takes no arguments; pipe the token on stdin" : 'unexpected extra arguments');
  }

  const params = parseCostFlags(values);
  if (kind === 'hash') return { kind: 'hash', params };

  if (values.env === true && values.json === true) throw new UsageError('--env and --json cannot be combined');
  if (values['env-prefix'] !== undefined && values.env !== true) throw new UsageError('--env-prefix only applies with --env');
  const envPrefix = values['env-prefix'] ?? DEFAULT_ENV_PREFIX;
  // Upper case and ending in `_` keeps every line a conventional NAME=value
  // and keeps the server's names apart from the client's API_KEY_ID/API_TOKEN.
  if (!/^[A-Z][A-Z0-9_]*_$/.test(envPrefix)) {
    throw new UsageError('--env-prefix must be upper case letters, digits and _, starting with a letter and ending with _ (e.g. BUTTERCUP_TASK_SERVER_)');
  }
  const tokenLength =
    values['token-length'] === undefined
      ? TOKEN_LENGTH.default
      : parseIntFlag('token-length', values['token-length'], TOKEN_LENGTH.min, TOKEN_LENGTH.max);
  return {
    kind: 'generate',
    format: values.env === true ? 'env' : values.json === true ? 'json' : 'text',
    envPrefix,
    tokenLength,
    scopes: values.scopes === undefined ? null : parseScopes(values.scopes),
    params,
  };
}

function parseCostFlags(values: { [K in OptionName]?: string | boolean | undefined }): Argon2Params {
  const read = (flag: OptionName, key: keyof Argon2Params): number => {
    const raw = values[flag];
    if (typeof raw !== 'string') return DEFAULT_HASH_PARAMS[key];
    return parseIntFlag(flag, raw, COST_LIMITS[key].min, COST_LIMITS[key].max);
  };
  const params: Argon2Params = {
    memoryCost: read('memory-cost', 'memoryCost'),
    timeCost: read('time-cost', 'timeCost'),
    parallelism: read('parallelism', 'parallelism'),
  };
  if (params.memoryCost < 8 * params.parallelism) {
    throw new UsageError(`--memory-cost must be at least 8 * parallelism (${8 * params.parallelism} KiB)`);
  }
  return params;
}

function parseIntFlag(flag: string, raw: string, min: number, max: number): number {
  const value = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    // Echo the value only when it is a short number: it is the user's own input,
    // but a secret pasted into the wrong flag should not be repeated.
    const got = /^-?\d{1,12}$/.test(raw) ? ` (got ${raw})` : '';
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}${got}`);
  }
  return value;
}

function parseScopes(raw: string): readonly Scope[] {
  const scopes: Scope[] = [];
  for (const part of raw.split(',')) {
    const name = part.trim();
    if (name === '') throw new UsageError('--scopes has an empty entry (use a,b without spaces or stray commas)');
    if (!isScope(name)) {
      // JSON quoting shows stray spaces or control characters safely.
      throw new UsageError(`--scopes: unknown scope ${JSON.stringify(name.slice(0, 64))}; valid scopes are ${SCOPES.join(', ')}`);
    }
    if (!scopes.includes(name)) scopes.push(name);
  }
  return scopes;
}
