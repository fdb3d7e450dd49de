// Turns the key settings from tinytown.toml and the environment into checked
// ApiKeyConfig values: valid Argon2id PHC hashes of at least OWASP strength,
// known scopes, unique ids.
//
// Security: messages name the key id and what is wrong, never the hash itself.
import { meetsOwaspMinimum, parseArgon2idPhc } from '../auth/argon2-hash.js';
import { isScope, type Scope } from '../auth/scopes.js';
import { ConfigError, type ApiKeyConfig } from './config.js';
import { checkKnownKeys, isTable, read, type TomlTable } from './toml-file.js';

export const UNNAMED_KEY_ID = 'api_key';
// No ':' (RFC 7617: Basic splits user-id and password at the first colon).
const KEY_ID = /^[A-Za-z0-9._@-]{1,128}$/;

export interface RawKey {
  id: string | undefined;
  hash: string;
  scopes: readonly string[];
  expiresAt: number | null;
  disabled: boolean;
  /** `token_selector = true`: the key's tokens all begin with its selector (absent: false). */
  tokenSelector?: boolean;
  /** Where the key came from, for messages: `[[townhall.auth.keys]] #2`, `TOWNHALL_API_TOKEN_HASH`. */
  source: string;
}

export function parseScopes(list: readonly string[], source: string): Scope[] {
  return list.map((s) => {
    if (!isScope(s)) throw new ConfigError(`unknown scope "${s}" in ${source}; valid scopes: town.read, town.write, agent.manage, admin`);
    return s;
  });
}

/** Reads `[[townhall.auth.keys]]` entries. */
export function readKeyList(auth: TomlTable): RawKey[] {
  const list = auth['keys'];
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new ConfigError('[townhall.auth] keys must be an array of tables ([[townhall.auth.keys]])');
  return list.map((entry, i) => {
    const label = `[[townhall.auth.keys]] #${i + 1}`;
    if (!isTable(entry)) throw new ConfigError(`${label} must be a table`);
    checkKnownKeys(entry, 'townhall.auth.keys', label);
    const id = read.string(entry, 'id', label);
    const hash = read.string(entry, 'hash', label);
    if (id === undefined) throw new ConfigError(`${label} needs an id`);
    if (hash === undefined) throw new ConfigError(`${label} (id "${id}") needs a hash; make one with: node bin/auth-tool.js`);
    return {
      id,
      hash,
      scopes: read.stringList(entry, 'scopes', label) ?? [],
      expiresAt: read.datetime(entry, 'expires_at', label) ?? null,
      disabled: read.boolean(entry, 'disabled', label) ?? false,
      tokenSelector: read.boolean(entry, 'token_selector', label) ?? false,
      source: `${label} (id "${id}")`,
    };
  });
}

export function checkKeys(raw: readonly RawKey[], allowWeakHashes: boolean): ApiKeyConfig[] {
  const seen = new Set<string>();
  return raw.map((k) => {
    const id = k.id ?? UNNAMED_KEY_ID;
    if (k.id !== undefined && !KEY_ID.test(k.id)) {
      throw new ConfigError(`${k.source}: key id must be 1-128 characters of A-Z a-z 0-9 . _ @ -`);
    }
    if (seen.has(id)) throw new ConfigError(`two API keys have the same id "${id}"; give each key a unique id`);
    seen.add(id);
    const parsed = parseArgon2idPhc(k.hash);
    if (typeof parsed === 'string') {
      throw new ConfigError(`${k.source}: the hash ${parsed}; make one with: node bin/auth-tool.js`);
    }
    if (!allowWeakHashes && !meetsOwaspMinimum(parsed)) {
      throw new ConfigError(
        `${k.source}: the hash parameters (m=${parsed.memoryCost},t=${parsed.timeCost}) are weaker than OWASP's minimum ` +
          '(e.g. m=19456,t=2); re-hash with node bin/auth-tool.js, or set allow_weak_hashes = true in [townhall.auth]',
      );
    }
    return { id, named: k.id !== undefined, hash: k.hash, scopes: parseScopes(k.scopes, k.source), expiresAt: k.expiresAt, disabled: k.disabled, tokenSelector: k.tokenSelector ?? false };
  });
}
