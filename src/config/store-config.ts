// The store backend choice and the Redis connection settings of
// [townhall.store]: backend = "journal" | "redis", redis_url, key_prefix.
//
// The Redis URL comes from, first found: TOWNHALL_REDIS_URL,
// [townhall.store] redis_url, Tinytown's [redis] url, Tinytown's top-level
// redis_url. It is checked here so a typo fails at start-up.
//
// Safety: the URL may hold a password; no message here includes it.
import { checkRedisUrl, townKeys } from '../store/redis-keys.js';
import { ConfigError } from './config-error.js';
import { isTable, read, type TomlTable } from './toml-file.js';

export type StoreBackend = 'journal' | 'redis';

export interface RedisSettings {
  backend: StoreBackend;
  /** Null unless backend is "redis". */
  redisUrl: string | null;
  keyPrefix: string;
}

export const DEFAULT_KEY_PREFIX = 'townhall';

export function readRedisSettings(
  file: TomlTable,
  storeT: TomlTable,
  env: Readonly<Record<string, string | undefined>>,
  townName: string,
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
  if (backend === 'journal') return { backend, redisUrl: null, keyPrefix };
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
  return { backend, redisUrl: url, keyPrefix };
}
