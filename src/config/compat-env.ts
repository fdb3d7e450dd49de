// The environment of the systems Townhall stands in for, folded into
// Townhall's own variables so an existing deployment works unchanged:
// - Buttercup's task server (BUTTERCUP_TASK_SERVER_*): the same level as
//   TOWNHALL_*; if both name one setting and disagree, start-up fails naming both.
//   Its key gets scopes town.read,town.write (what its API needs), unless
//   TOWNHALL_API_KEY_SCOPES says otherwise.
// - Tinytown's Docker entrypoint (TINYTOWN_*): below TOWNHALL_*, above the file.
// An empty variable counts as unset, as shells and env files often leave them.
//
// Security: a disagreement about the hash names the variables, never the values.
import { ConfigError, isLoopback, type ApiKeyConfig } from './config.js';

const BUTTERCUP_ALIASES: ReadonlyArray<{ ours: string; theirs: string; secret?: true }> = [
  { ours: 'TOWNHALL_API_KEY_ID', theirs: 'BUTTERCUP_TASK_SERVER_API_KEY_ID' },
  { ours: 'TOWNHALL_API_TOKEN_HASH', theirs: 'BUTTERCUP_TASK_SERVER_API_TOKEN_HASH', secret: true },
  { ours: 'TOWNHALL_BIND', theirs: 'BUTTERCUP_TASK_SERVER_HOST' },
  { ours: 'TOWNHALL_PORT', theirs: 'BUTTERCUP_TASK_SERVER_PORT' },
];

const TINYTOWN_FALLBACKS: ReadonlyArray<{ ours: string; theirs: string }> = [
  { ours: 'TOWNHALL_BIND', theirs: 'TINYTOWN_REST_BIND' },
  { ours: 'TOWNHALL_PORT', theirs: 'TINYTOWN_REST_PORT' },
  { ours: 'TOWNHALL_TOWN_NAME', theirs: 'TINYTOWN_TOWN_NAME' },
];

/** Scopes of a key configured the Buttercup way: what its task API needs. */
export const BUTTERCUP_KEY_SCOPES = 'town.read,town.write';

/** The demo credential published throughout Buttercup's repository (values.yaml, env templates, README). */
export const BUTTERCUP_DEMO_KEY_ID = '515cc8a0-3019-4c9f-8c1c-72d0b54ae561';
const BUTTERCUP_DEMO_HASH = '$argon2id$v=19$m=65536,t=3,p=4$Dg1v6NPGTyXPoOPF4ozD5A$wa/85ttk17bBsIASSwdR/uGz5UKN/bZuu4wu+JIy1iA';

export interface FoldedEnv {
  /** TOWNHALL_* variables, aliases and fallbacks applied. */
  env: Record<string, string>;
  /** The variable a TOWNHALL_* value really came from, for messages. */
  sourceOf(name: string): string;
}

export function foldCompatEnv(raw: Readonly<Record<string, string | undefined>>): FoldedEnv {
  const set = (k: string): string | undefined => (raw[k] === undefined || raw[k] === '' ? undefined : raw[k]);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (k.startsWith('TOWNHALL_') && v !== undefined && v !== '') env[k] = v;
  const from = new Map<string, string>();

  const id = set('BUTTERCUP_TASK_SERVER_API_KEY_ID');
  const hash = set('BUTTERCUP_TASK_SERVER_API_TOKEN_HASH');
  if ((id === undefined) !== (hash === undefined)) {
    const [given, missing] = id === undefined ? ['BUTTERCUP_TASK_SERVER_API_TOKEN_HASH', 'BUTTERCUP_TASK_SERVER_API_KEY_ID'] : ['BUTTERCUP_TASK_SERVER_API_KEY_ID', 'BUTTERCUP_TASK_SERVER_API_TOKEN_HASH'];
    throw new ConfigError(`${given} is set but ${missing} is not; Buttercup's clients log in with both (make a pair with node bin/auth-tool.js --env --env-prefix BUTTERCUP_TASK_SERVER_)`);
  }
  for (const { ours, theirs, secret } of BUTTERCUP_ALIASES) {
    const value = set(theirs);
    if (value === undefined) continue;
    // Townhall reads the hash from either of its two names.
    const oursName = ours === 'TOWNHALL_API_TOKEN_HASH' && env[ours] === undefined && env['TOWNHALL_API_KEY_HASH'] !== undefined ? 'TOWNHALL_API_KEY_HASH' : ours;
    const current = env[oursName];
    if (current !== undefined && current !== value) {
      throw new ConfigError(`${theirs} and ${oursName} are both set and disagree${secret === true ? '' : ` ("${value}" vs "${current}")`}; set only one of them`);
    }
    env[oursName] = value;
    if (current === undefined) from.set(oursName, theirs);
  }
  if (hash !== undefined && env['TOWNHALL_API_KEY_SCOPES'] === undefined) {
    env['TOWNHALL_API_KEY_SCOPES'] = BUTTERCUP_KEY_SCOPES;
  }
  for (const { ours, theirs } of TINYTOWN_FALLBACKS) {
    const value = set(theirs);
    if (value === undefined || env[ours] !== undefined) continue;
    env[ours] = value;
    from.set(ours, theirs);
  }
  return { env, sourceOf: (name) => from.get(name) ?? name };
}

/** Refuses Buttercup's published demo credential anywhere but on loopback: everyone knows its token. */
export function refuseDemoCredential(keys: readonly ApiKeyConfig[], bind: string): void {
  if (isLoopback(bind)) return;
  if (keys.some((k) => k.id === BUTTERCUP_DEMO_KEY_ID || k.hash === BUTTERCUP_DEMO_HASH)) {
    throw new ConfigError(
      `refusing Buttercup's published demo credential (key id ${BUTTERCUP_DEMO_KEY_ID}) on non-loopback address ${bind}: its token is public; ` +
        'make a new pair with node bin/auth-tool.js --env --env-prefix BUTTERCUP_TASK_SERVER_, or bind 127.0.0.1',
    );
  }
}
