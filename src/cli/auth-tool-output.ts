// What `townhall-auth-tool` prints for a new key, in its three formats.
//
// stdout is for machines (the `Key ID:`/`API Key:`/`Hash:` lines plus a
// tinytown.toml snippet, or NAME=value lines, or one JSON object); advice and
// curl examples go to stderr so piping stdout never picks them up.
//
// Security: the token appears only on the `API Key:` line, the `API_TOKEN=`
// line, the JSON `token` field and the stderr curl examples of the text format
// (which exist for the person at the terminal). The --env and --json formats
// are for scripts, whose stderr often lands in CI logs, so their stderr
// advice never contains the token.
import { meetsOwaspMinimum, type Argon2Params } from '../auth/argon2-hash.js';
import type { Scope } from '../auth/scopes.js';

export interface NewKey {
  id: string;
  token: string;
  hash: string;
  /** null when no --scopes were given: the key is an admin key. */
  scopes: readonly Scope[] | null;
  params: Argon2Params;
}

const STATUS_URL = 'http://127.0.0.1:8787/v1/status';

/** Scopes as the config should record them: no --scopes means admin, written out so it is obvious. */
function configuredScopes(key: NewKey): readonly Scope[] {
  return key.scopes ?? ['admin'];
}

// Our values are ASCII letters, digits and `$+/=,.-_`; JSON.stringify yields a
// valid TOML basic string for them (and would escape anything stranger in a
// form TOML also accepts).
const tomlString = (s: string): string => JSON.stringify(s);

export function formatKeyText(key: NewKey): string {
  const scopes = configuredScopes(key).map(tomlString).join(', ');
  return [
    `Key ID: ${key.id}`,
    `API Key: ${key.token}`,
    `Hash: ${key.hash}`,
    '',
    '# tinytown.toml (the hash only; the API key stays with the client)',
    '[townhall.auth]',
    'mode = "api_key"',
    '',
    '[[townhall.auth.keys]]',
    `id = ${tomlString(key.id)}`,
    `hash = ${tomlString(key.hash)}`,
    `scopes = [${scopes}]`,
    '# the token begins with this key\'s selector: the server tries this hash only',
    'token_selector = true',
    '',
  ].join('\n');
}

export const BUTTERCUP_PREFIX = 'BUTTERCUP_TASK_SERVER_';

/**
 * For a deployment of Buttercup's task server that Townhall replaces: the two
 * variables it already sets (a key so configured implies mode api_key and gets
 * town.read,town.write), and the names Buttercup's clients really read
 * (delete_task.sh: CRS_API_KEY_*; the UI: BUTTERCUP_UI_CRS_KEY_*).
 */
function formatButtercupEnv(key: NewKey): string {
  const lines = [
    "# server (Buttercup's task server variables; Townhall reads them): only the hash, never the token",
    `${BUTTERCUP_PREFIX}API_KEY_ID=${key.id}`,
    `${BUTTERCUP_PREFIX}API_TOKEN_HASH=${key.hash}`,
  ];
  if (key.scopes !== null) lines.push(`TOWNHALL_API_KEY_SCOPES=${key.scopes.join(',')}`);
  else lines.push('# scopes: town.read,town.write (what Townhall gives a key set this way)');
  lines.push(
    '', '# clients: keep the token secret', '# scripts/delete_task.sh and curl -u',
    `CRS_API_KEY_ID=${key.id}`, `CRS_API_KEY_TOKEN=${key.token}`,
    '# buttercup-ui', `BUTTERCUP_UI_CRS_KEY_ID=${key.id}`, `BUTTERCUP_UI_CRS_KEY_TOKEN=${key.token}`, '',
  );
  return lines.join('\n');
}

/** NAME=value lines, unquoted: an env file, and safe for `$(… | sed 's/^/export /')`. */
export function formatKeyEnv(key: NewKey, prefix: string): string {
  if (prefix === BUTTERCUP_PREFIX) return formatButtercupEnv(key);
  // Comments stay lower case and never contain the prefix, so
  // `grep PREFIX | sed 's/^/export /'` selects only assignments.
  const lines = [
    '# server: only the hash, never the token',
    `${prefix}AUTH_MODE=api_key`,
    `${prefix}API_KEY_ID=${key.id}`,
    `${prefix}API_TOKEN_HASH=${key.hash}`,
  ];
  if (key.scopes !== null) lines.push(`${prefix}API_KEY_SCOPES=${key.scopes.join(',')}`);
  else lines.push('# no scopes given: an admin key');
  lines.push('', '# client: keep the token secret', `API_KEY_ID=${key.id}`, `API_TOKEN=${key.token}`, '');
  return lines.join('\n');
}

export function formatKeyJson(key: NewKey): string {
  const body = {
    key_id: key.id,
    token: key.token,
    hash: key.hash,
    scopes: configuredScopes(key),
    token_selector: true,
    mode: 'api_key',
    hash_params: {
      algorithm: 'argon2id',
      memory_cost: key.params.memoryCost,
      time_cost: key.params.timeCost,
      parallelism: key.params.parallelism,
    },
  };
  return `${JSON.stringify(body)}\n`;
}

/** stderr for the text format: advice and curl examples for the person at the terminal. */
export function formatKeyAdvice(key: NewKey): string {
  return [
    'Keep the API key secret: give it only to the client that calls Townhall.',
    'Only the hash goes in tinytown.toml; it cannot be turned back into the key,',
    'so store the key now (it is shown only once).',
    '',
    'Try it with a bearer token:',
    `  curl -H "Authorization: Bearer ${key.token}" ${STATUS_URL}`,
    'or with HTTP Basic (key id as the user name):',
    `  curl -u "${key.id}:${key.token}" ${STATUS_URL}`,
    '',
  ].join('\n');
}

/** stderr for --env/--json: advice without the token (scripts' stderr ends up in logs). */
export function formatScriptAdvice(): string {
  return 'Keep the token secret; only the hash belongs in the server configuration.\n';
}

/** A warning line when the cost is below the OWASP minimum, else ''. */
export function formatWeakParamsWarning(params: Argon2Params): string {
  if (meetsOwaspMinimum(params)) return '';
  return (
    `warning: m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism} is below the OWASP ` +
    'minimum for Argon2id (e.g. m=19456,t=2); the hash is cheaper to brute-force.\n'
  );
}
