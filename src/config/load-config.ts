// Builds the one Config from flags > environment > tinytown.toml > defaults,
// and refuses unsafe or inconsistent set-ups with a ConfigError whose message
// says what to change.
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { checkKeys, readKeyList, type RawKey } from './api-key-config.js';
import { foldCompatEnv, refuseDemoCredential } from './compat-env.js';
import { ConfigError, DEFAULTS, isLoopback, type AuthMode, type Config, type Durability, type LogFormat } from './config.js';
import { expiryWarnings } from './expiry-warnings.js';
import { readOidcConfig } from './oidc-config.js';
import { LOOPBACK_PROXIES, parseProxyEntry } from './proxy-list.js';
import { readTlsSettings } from './tls-config.js';
import { readRedisSettings } from './store-config.js';
import { checkKnownKeys, isTable, read, readTomlFile, type TomlTable } from './toml-file.js';

export interface ConfigFlags {
  config?: string;
  town?: string;
  bind?: string;
  port?: string;
  verbose?: boolean;
}

export interface ConfigSources {
  flags: ConfigFlags;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export interface LoadedConfig {
  config: Config;
  /** Non-fatal advice to print at start-up (e.g. "use TLS"). */
  warnings: string[];
}

function subTable(parent: TomlTable, key: string, label: string): TomlTable {
  const v = parent[key];
  if (v === undefined) return {};
  if (!isTable(v)) throw new ConfigError(`${label} must be a table`);
  return v;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(`${what} must be one of ${allowed.join(', ')} (got "${value}")`);
  return value as T;
}

function parsePort(value: string, what: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new ConfigError(`${what} must be a port number from 0 to 65535`);
  return Number(value);
}

/** `[townhall] trust_proxy`: false, true (loopback proxies only), or a list of addresses and CIDRs. */
function readTrustProxy(th: TomlTable): readonly string[] {
  const v = th['trust_proxy'];
  if (v === undefined || v === false) return [];
  if (v === true) return LOOPBACK_PROXIES;
  if (!Array.isArray(v) || !v.every((e) => typeof e === 'string')) {
    throw new ConfigError('[townhall] trust_proxy must be true or false, or a list of proxy addresses and CIDRs, e.g. ["10.0.0.0/8"]');
  }
  const bad = (v as string[]).find((e) => parseProxyEntry(e) === null);
  if (bad !== undefined) throw new ConfigError(`[townhall] trust_proxy: "${bad}" is not an IP address or CIDR (e.g. "10.0.0.5", "10.0.0.0/8", "fd00::/8")`);
  return v as string[];
}

function locateConfigFile(sources: ConfigSources): string | null {
  const { flags, cwd } = sources;
  if (flags.config !== undefined) return resolve(cwd, flags.config);
  if (flags.town !== undefined) return resolve(cwd, flags.town, 'tinytown.toml');
  const local = resolve(cwd, 'tinytown.toml');
  return existsSync(local) ? local : null;
}

export function loadConfig(sources: ConfigSources): LoadedConfig {
  const { flags, cwd } = sources;
  // TOWNHALL_* with Buttercup's and Tinytown's variables folded in; empty counts as unset.
  const { env, sourceOf } = foldCompatEnv(sources.env);
  const configPath = locateConfigFile(sources);
  const file = configPath === null ? {} : readTomlFile(configPath);
  const baseDir = configPath === null ? cwd : dirname(configPath);

  const th = subTable(file, 'townhall', '[townhall]');
  checkKnownKeys(th, 'townhall');
  const authT = subTable(th, 'auth', '[townhall.auth]');
  checkKnownKeys(authT, 'townhall.auth');
  const logT = subTable(th, 'log', '[townhall.log]');
  checkKnownKeys(logT, 'townhall.log');
  const storeT = subTable(th, 'store', '[townhall.store]');
  checkKnownKeys(storeT, 'townhall.store');
  const crsT = subTable(th, 'crs', '[townhall.crs]');
  checkKnownKeys(crsT, 'townhall.crs');

  const bind = flags.bind ?? env['TOWNHALL_BIND'] ?? read.string(th, 'bind', '[townhall]') ?? DEFAULTS.bind;
  const filePort = read.integer(th, 'port', '[townhall]', 0, 65535) ?? read.integer(th, 'rest_port', '[townhall]', 0, 65535);
  const port =
    flags.port !== undefined ? parsePort(flags.port, '--port')
    : env['TOWNHALL_PORT'] !== undefined ? parsePort(env['TOWNHALL_PORT'], sourceOf('TOWNHALL_PORT'))
    : filePort ?? DEFAULTS.port;

  const allowWeakHashes = read.boolean(authT, 'allow_weak_hashes', '[townhall.auth]') ?? false;
  const rawKeys: RawKey[] = readKeyList(authT);
  const fileHash = read.string(authT, 'api_key_hash', '[townhall.auth]');
  const envHashName = env['TOWNHALL_API_TOKEN_HASH'] !== undefined ? 'TOWNHALL_API_TOKEN_HASH' : 'TOWNHALL_API_KEY_HASH';
  const envHash = env[envHashName];
  const singleHash = envHash ?? fileHash;
  if (singleHash !== undefined && singleHash !== '') {
    const envScopes = env['TOWNHALL_API_KEY_SCOPES'];
    rawKeys.unshift({
      id: env['TOWNHALL_API_KEY_ID'] ?? (read.string(authT, 'api_key_id', '[townhall.auth]') ?? undefined),
      hash: singleHash,
      scopes: envScopes !== undefined ? envScopes.split(',').map((s) => s.trim()).filter((s) => s !== '')
        : read.stringList(authT, 'api_key_scopes', '[townhall.auth]') ?? [],
      expiresAt: null,
      disabled: false,
      source: envHash !== undefined ? sourceOf(envHashName) : '[townhall.auth] api_key_hash',
    });
  }
  const keys = checkKeys(rawKeys, allowWeakHashes);
  refuseDemoCredential(keys, bind);

  const explicitMode = oneOf<AuthMode>(env['TOWNHALL_AUTH_MODE'] ?? read.string(authT, 'mode', '[townhall.auth]'), ['none', 'api_key', 'oidc', 'mtls'], 'auth mode');
  const mode: AuthMode = explicitMode ?? (keys.length > 0 ? 'api_key' : 'none');
  const warnings: string[] = [];
  const now = Date.now();
  const { tls, mtls } = readTlsSettings(th, baseDir, now);
  const acceptApiKeys = read.boolean(authT, 'accept_api_keys', '[townhall.auth]') ?? false;
  const oidc = mode === 'oidc' ? readOidcConfig(authT) : null;

  if (mode === 'oidc' && !acceptApiKeys && keys.length > 0) {
    warnings.push('auth mode "oidc" ignores the configured API keys; set [townhall.auth] accept_api_keys = true to accept them too');
  }
  if (mode === 'mtls') {
    if (tls === null || mtls === null || !mtls.required) {
      throw new ConfigError('[townhall.auth] mode: "mtls" needs [townhall.tls] enabled = true and [townhall.mtls] required = true with a ca_path');
    }
    if (mtls.clients.length === 0) {
      throw new ConfigError('[townhall.auth] mode: "mtls" needs at least one [[townhall.mtls.clients]] entry (subject = the certificate CN, scopes = [...])');
    }
  }
  if (mode === 'none' && keys.length > 0) {
    throw new ConfigError('auth mode "none" is set but API keys are configured; remove mode = "none" (keys imply mode "api_key") or remove the keys');
  }
  if (mode === 'none' && !isLoopback(bind)) {
    throw new ConfigError(`refusing to serve without authentication on non-loopback address ${bind}; set [townhall.auth] mode = "api_key" with a key from node bin/auth-tool.js, or bind 127.0.0.1`);
  }
  if (mode === 'api_key') {
    const now = Date.now();
    if (!keys.some((k) => !k.disabled && (k.expiresAt === null || k.expiresAt > now))) {
      throw new ConfigError('auth mode "api_key" needs at least one enabled, unexpired key; create one with node bin/auth-tool.js and set TOWNHALL_API_TOKEN_HASH or [[townhall.auth.keys]]');
    }
    if (!isLoopback(bind) && tls === null) {
      warnings.push(`serving on non-loopback address ${bind} over plain HTTP; set [townhall.tls] enabled = true (or put Townhall behind TLS) so API keys are not sent in clear text`);
    }
  }
  warnings.push(...expiryWarnings(mode === 'api_key' || mode === 'mtls' || acceptApiKeys ? keys : [], tls, now));

  const logFormat = oneOf<LogFormat>(env['TOWNHALL_LOG_FORMAT'] ?? read.string(logT, 'format', '[townhall.log]'), ['text', 'json'], 'log format') ?? 'text';
  const durability = oneOf<Durability>(read.string(storeT, 'durability', '[townhall.store]'), ['always', 'none'], '[townhall.store] durability') ?? 'always';
  const storePath = resolve(baseDir, read.string(storeT, 'path', '[townhall.store]') ?? DEFAULTS.storeDir);
  const townName = env['TOWNHALL_TOWN_NAME'] ?? read.string(file, 'name', 'top-level') ?? (basename(baseDir) || 'town');

  const config: Config = {
    configPath,
    bind,
    port,
    requestTimeoutMs: read.integer(th, 'request_timeout_ms', '[townhall]', 100, 3_600_000) ?? DEFAULTS.requestTimeoutMs,
    headersTimeoutMs: read.integer(th, 'headers_timeout_ms', '[townhall]', 100, 600_000) ?? DEFAULTS.headersTimeoutMs,
    maxConnections: read.integer(th, 'max_connections', '[townhall]', 1, 1_000_000) ?? DEFAULTS.maxConnections,
    maxBodyBytes: read.integer(th, 'max_body_bytes', '[townhall]', 64, 1024 ** 3) ?? DEFAULTS.maxBodyBytes,
    trustProxy: readTrustProxy(th),
    verbose: flags.verbose ?? false,
    tls,
    mtls,
    auth: {
      mode,
      keys,
      oidc,
      acceptApiKeys,
      allowWeakHashes,
      verifyCacheTtlSecs: read.integer(authT, 'verify_cache_ttl_secs', '[townhall.auth]', 0, 86_400) ?? DEFAULTS.verifyCacheTtlSecs,
      maxFailedAttemptsPerMinute: read.integer(authT, 'max_failed_attempts_per_minute', '[townhall.auth]', 1, 1_000_000) ?? DEFAULTS.maxFailedAttemptsPerMinute,
      argon2MaxConcurrency: read.integer(authT, 'argon2_max_concurrency', '[townhall.auth]', 1, 1024) ?? DEFAULTS.argon2MaxConcurrency,
      argon2MaxQueue: read.integer(authT, 'argon2_max_queue', '[townhall.auth]', 0, 100_000) ?? DEFAULTS.argon2MaxQueue,
    },
    log: { format: logFormat },
    store: {
      path: storePath,
      durability,
      compactAfterBytes: read.integer(storeT, 'compact_after_bytes', '[townhall.store]', 4096, 2 ** 40) ?? DEFAULTS.compactAfterBytes,
      retainCompletedSecs: read.integer(storeT, 'retain_completed_secs', '[townhall.store]', 0, 100 * 365 * 86_400) ?? DEFAULTS.retainCompletedSecs,
      ...readRedisSettings(file, storeT, env, townName, baseDir),
    },
    town: {
      name: townName,
      root: baseDir,
      defaultCli: read.string(file, 'default_cli', 'top-level') ?? DEFAULTS.defaultCli,
      maxAgents: read.integer(file, 'max_agents', 'top-level', 0, 100_000) ?? DEFAULTS.maxAgents,
      heartbeatTimeoutSecs: read.integer(th, 'heartbeat_timeout_secs', '[townhall]', 1, 86_400 * 7) ?? DEFAULTS.heartbeatTimeoutSecs,
    },
    crs: { maxSarifBytes: read.integer(crsT, 'max_sarif_bytes', '[townhall.crs]', 1024, 1024 ** 3) ?? DEFAULTS.maxSarifBytes },
  };
  return { config, warnings };
}
