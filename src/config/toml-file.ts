// Reads tinytown.toml and checks the shape of the tables Townhall owns.
//
// The file is shared with other Tinytown tools, so unknown top-level keys and
// tables are ignored; but inside [townhall] and its sub-tables every key must be
// known, and an unknown one is a start-up error that suggests the closest key.
import { readFileSync } from 'node:fs';
import { parse, TomlDate } from 'smol-toml';
import { closestKey } from './closest-key.js';
import { ConfigError } from './config-error.js';

export type TomlTable = Record<string, unknown>;

/** The keys each of our tables accepts; sub-tables are listed as keys too. */
export const KNOWN_KEYS = {
  townhall: ['bind', 'port', 'rest_port', 'request_timeout_ms', 'headers_timeout_ms', 'max_connections', 'max_body_bytes', 'trust_proxy', 'heartbeat_timeout_secs', 'auth', 'log', 'store', 'tls', 'mtls', 'crs'],
  'townhall.auth': [
    'mode', 'api_key_hash', 'api_key_scopes', 'api_key_id', 'keys', 'allow_weak_hashes', 'verify_cache_ttl_secs',
    'max_failed_attempts_per_minute', 'argon2_max_concurrency', 'argon2_max_queue',
    'issuer', 'audience', 'jwks_url', 'required_scopes', 'clock_skew_seconds', 'accept_api_keys',
  ],
  'townhall.auth.keys': ['id', 'hash', 'scopes', 'expires_at', 'disabled', 'token_selector'],
  'townhall.log': ['format'],
  // cert_file/key_file/ca_file: the names Tinytown writes, aliases of the documented *_path.
  'townhall.tls': ['enabled', 'cert_path', 'key_path', 'cert_file', 'key_file', 'min_version'],
  'townhall.mtls': ['enabled', 'required', 'ca_path', 'ca_file', 'clients'],
  'townhall.mtls.clients': ['subject', 'scopes'],
  'townhall.store': ['path', 'durability', 'compact_after_bytes', 'retain_completed_secs', 'backend', 'redis_url', 'key_prefix', 'redis_ca_path'],
  'townhall.crs': ['max_sarif_bytes'],
} as const;

export type TableName = keyof typeof KNOWN_KEYS;

export function readTomlFile(path: string): TomlTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read config file ${path} (${code ?? 'error'}); check the --config/--town path`);
  }
  try {
    return parse(text) as TomlTable;
  } catch (err) {
    const e = err as { line?: number; column?: number; message?: string };
    const what = (e.message ?? 'invalid TOML').split('\n')[0]!.replace(/^Invalid TOML document: /, '');
    throw new ConfigError(`invalid TOML in ${path} at line ${e.line ?? '?'}, column ${e.column ?? '?'}: ${what}`);
  }
}

export function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Throws a ConfigError naming the first unknown key in `table`. */
export function checkKnownKeys(table: TomlTable, name: TableName, label: string = `[${name}]`): void {
  const known: readonly string[] = KNOWN_KEYS[name];
  for (const key of Object.keys(table)) {
    if (!known.includes(key)) {
      const hint = closestKey(key, known);
      throw new ConfigError(`unknown key "${key}" in ${label}${hint ? `; did you mean "${hint}"?` : `; valid keys: ${known.join(', ')}`}`);
    }
  }
}

/** Typed readers that fail with a message naming the key and the expected type. */
export const read = {
  string(table: TomlTable, key: string, label: string): string | undefined {
    const v = table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new ConfigError(`${label} ${key} must be a string`);
    return v;
  },
  integer(table: TomlTable, key: string, label: string, min: number, max: number): number | undefined {
    const v = table[key];
    if (v === undefined) return undefined;
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(`${label} ${key} must be an integer from ${min} to ${max}`);
    }
    return n;
  },
  boolean(table: TomlTable, key: string, label: string): boolean | undefined {
    const v = table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw new ConfigError(`${label} ${key} must be true or false`);
    return v;
  },
  stringList(table: TomlTable, key: string, label: string): string[] | undefined {
    const v = table[key];
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new ConfigError(`${label} ${key} must be a list of strings`);
    return v as string[];
  },
  /** A TOML datetime or an RFC 3339 string, as epoch ms. */
  datetime(table: TomlTable, key: string, label: string): number | undefined {
    const v = table[key];
    if (v === undefined) return undefined;
    if (v instanceof TomlDate) {
      // A local date or time has no zone: it names no single instant.
      if (v.isDateTime() && !v.isLocal() && !Number.isNaN(v.getTime())) return v.getTime();
    } else if (v instanceof Date) {
      const ms = v.getTime();
      if (!Number.isNaN(ms)) return ms;
    } else if (typeof v === 'string' && /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/.test(v)) {
      const ms = Date.parse(v);
      if (!Number.isNaN(ms)) return ms;
    }
    throw new ConfigError(`${label} ${key} must be an RFC 3339 date-time with a zone, e.g. 2027-01-01T00:00:00Z`);
  },
};
