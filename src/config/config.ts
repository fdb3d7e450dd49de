// The one validated configuration the server runs with. Built by loadConfig
// from flags > environment > tinytown.toml > these defaults; every field here
// has been checked, so nothing downstream re-validates.
import { cpus } from 'node:os';
import type { Scope } from '../auth/scopes.js';
import type { RedisSettings } from './store-config.js';
import { DEFAULT_COMPACT_AFTER_BYTES } from '../store/journal-store.js';

export type AuthMode = 'none' | 'api_key' | 'oidc' | 'mtls';
export type LogFormat = 'text' | 'json';
export type Durability = 'always' | 'none';

export interface ApiKeyConfig {
  /** The key id; `api_key` for the unnamed single key. */
  id: string;
  /** Whether the id was configured (only named keys can be used with Basic). */
  named: boolean;
  /** Argon2id PHC string. */
  hash: string;
  scopes: readonly Scope[];
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
  disabled: boolean;
  /** Every token of this key begins with its selector (auth/token-selector.ts): tokens without one are not tried against it. */
  tokenSelector: boolean;
}

export interface AuthConfig {
  mode: AuthMode;
  keys: readonly ApiKeyConfig[];
  allowWeakHashes: boolean;
  verifyCacheTtlSecs: number;
  maxFailedAttemptsPerMinute: number;
  argon2MaxConcurrency: number;
  argon2MaxQueue: number;
  /** Set in mode `oidc` only. */
  oidc: OidcConfig | null;
  /** Mode `oidc`: also accept the configured API keys (a JWT-shaped Bearer still goes to OIDC). */
  acceptApiKeys: boolean;
}

export interface OidcConfig {
  issuer: string;
  /** Accepted `aud` values (the token's `aud` must contain one). */
  audience: readonly string[];
  /** Null: discovered from `<issuer>/.well-known/openid-configuration`. */
  jwksUrl: string | null;
  /** Each must be in the token's `scope`/`scp` claim (any string, not only Townhall scopes). */
  requiredScopes: readonly string[];
  clockSkewSecs: number;
}

/** PEM material read and checked at load time, so a reload either gets all of it or changes nothing. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The mTLS CA bundle, when mTLS is on. */
  ca: Buffer | null;
}

export interface TlsConfig {
  certPath: string;
  keyPath: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  material: TlsMaterial;
  /** Epoch ms when the server certificate expires (for warnings). */
  certExpiresAt: number;
}

export interface MtlsClient {
  /** The certificate subject CN this entry matches. */
  subject: string;
  scopes: readonly Scope[];
}

export interface MtlsConfig {
  /** true: a client without a certificate from the CA fails the handshake. */
  required: boolean;
  caPath: string;
  /** Certificates as credentials (mode `mtls`). */
  clients: readonly MtlsClient[];
}

export interface TownSettings {
  name: string;
  /** The town's directory (where tinytown.toml is, else the working directory). */
  root: string;
  defaultCli: string;
  maxAgents: number;
  heartbeatTimeoutSecs: number;
}

export interface Config {
  /** Absolute path of the tinytown.toml read, or null on built-in defaults. */
  configPath: string | null;
  bind: string;
  port: number;
  requestTimeoutMs: number;
  /** Time to receive a request's headers (slow-header attacks); enforced to within a second. */
  headersTimeoutMs: number;
  /** Open connections served at once; past it new ones are refused (as nginx's worker_connections). */
  maxConnections: number;
  maxBodyBytes: number;
  /** Proxies whose X-Forwarded-For is believed: addresses and CIDRs; [] = none. */
  trustProxy: readonly string[];
  verbose: boolean;
  /** Null: plain HTTP. */
  tls: TlsConfig | null;
  /** Null: no client certificates requested. */
  mtls: MtlsConfig | null;
  auth: AuthConfig;
  log: { format: LogFormat };
  store: { path: string; durability: Durability; compactAfterBytes: number; retainCompletedSecs: number } & RedisSettings;
  town: TownSettings;
  /** Buttercup's CRS task API (`[townhall.crs]`). */
  crs: { maxSarifBytes: number };
}

export const DEFAULTS = {
  bind: '127.0.0.1',
  port: 8787,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  maxConnections: 1024,
  maxBodyBytes: 1024 * 1024,
  verifyCacheTtlSecs: 300,
  maxFailedAttemptsPerMinute: 20,
  argon2MaxConcurrency: Math.max(1, cpus().length),
  argon2MaxQueue: 64,
  heartbeatTimeoutSecs: 120,
  defaultCli: 'claude',
  maxAgents: 10,
  compactAfterBytes: DEFAULT_COMPACT_AFTER_BYTES,
  retainCompletedSecs: 7 * 86_400,
  storeDir: '.townhall',
  maxSarifBytes: 16 * 1024 * 1024,
  clockSkewSecs: 60,
} as const;

export { ConfigError } from './config-error.js';

const LOOPBACK_V4 = /^127(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export function isLoopback(bind: string): boolean {
  return bind === 'localhost' || bind === '::1' || bind === '[::1]' || LOOPBACK_V4.test(bind);
}
