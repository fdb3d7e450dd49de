// The store backend choice and the Redis connection settings of
// [townhall.store]: backend = "journal" | "redis", redis_url, key_prefix,
// redis_ca_path.
//
// The Redis URL comes from, first found: TOWNHALL_REDIS_URL,
// [townhall.store] redis_url, Tinytown's [redis] url, Tinytown's top-level
// redis_url. It is checked here so a typo fails at start-up.
//
// redis_ca_path names the CA bundle (PEM) that signs Redis's certificate for
// a rediss:// URL; without it Node's default trust store is used. It is read
// and parsed here, once, like the TLS files (tls/tls-material.ts), so a
// missing or broken file is one start-up line naming the key. Tinytown has no
// such key, so there is no alias. Relative paths are relative to the config
// file's folder, like the other paths.
//
// Safety: the URL may hold a password; no message here includes it.
import { isAbsolute, resolve } from 'node:path';
import { checkRedisUrl, townKeys } from '../store/redis-keys.js';
import { loadCaBundle } from '../tls/tls-material.js';
import { ConfigError } from './config-error.js';
import { isTable, read, type TomlTable } from './toml-file.js';

export type StoreBackend = 'journal' | 'redis';

export interface RedisSettings {
  backend: StoreBackend;
  /** Null unless backend is "redis". */
  redisUrl: string | null;
  keyPrefix: string;
  /** The CA bundle (PEM) trusted for a rediss:// URL; null: Node's default trust store. */
  redisCa: Buffer | null;
  /** Where redisCa came from, for the start-up line; null when unset. */
  redisCaPath: string | null;
}

export const DEFAULT_KEY_PREFIX = 'townhall';

export function readRedisSettings(
  file: TomlTable,
  storeT: TomlTable,
  env: Readonly<Record<string, string | undefined>>,
  townName: string,
  baseDir: string,
): RedisSettings {
  const backend = read.string(storeT, 'backend', '[townhall.store]') ?? 'journal';
  if (backend !== 'journal' && backend !== 'redis') {
    throw new ConfigError(`[townhall.store] backend must be one of journal, redis (got "${backend}")`);
  }
  const keyPrefix = read.string(storeT, 'key_prefix', '[townhall.store]') ?? DEFAULT_KEY_PREFIX;
  const redisTable = isTable(file['redis']) ? file['redis'] : {};
  const sources: [string, string | undefined][] = [
    ['TOWNHALL_REDIS_URL', env['TOWNHALL_REDIS_URL']],
    ['[townhall.store] redis_url', read.string(storeT, 'redis_url', '[townhall.store]')],
    ['[redis] url', read.string(redisTable, 'url', '[redis]')],
    ['top-level redis_url', read.string(file, 'redis_url', 'top-level')],
  ];
  const found = sources.find(([, v]) => v !== undefined && v !== '');
  const caText = read.string(storeT, 'redis_ca_path', '[townhall.store]');
  if (backend === 'journal') return { backend, redisUrl: null, keyPrefix, redisCa: null, redisCaPath: null };
  if (found === undefined) {
    throw new ConfigError('[townhall.store] backend = "redis" needs a Redis URL: set [townhall.store] redis_url or TOWNHALL_REDIS_URL');
  }
  const [source, url] = found as [string, string];
  const problem = checkRedisUrl(url);
  if (problem !== null) throw new ConfigError(`${source} ${problem}`);
  try {
    townKeys(keyPrefix, townName);
  } catch (err) {
    throw new ConfigError(`[townhall.store] ${(err as Error).message}`);
  }
  if (caText === undefined || caText === '') return { backend, redisUrl: url, keyPrefix, redisCa: null, redisCaPath: null };
  // A CA for a plain redis:// connection would be silently unused: refuse the mix.
  if (new URL(url).protocol !== 'rediss:') {
    throw new ConfigError(`[townhall.store] redis_ca_path: set, but ${source} is not a rediss:// URL; use rediss:// to reach Redis over TLS, or remove redis_ca_path`);
  }
  const path = isAbsolute(caText) ? caText : resolve(baseDir, caText);
  const redisCa = loadCaBundle({ table: '[townhall.store]', key: 'redis_ca_path', path });
  return { backend, redisUrl: url, keyPrefix, redisCa, redisCaPath: path };
}
