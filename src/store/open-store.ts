// Opens the store the configuration chose: the embedded journal (default) or
// the Redis store shared by several replicas. Both report health to /ready.
//
// Safety: `description` goes into the start-up log line; for Redis it holds
// the redacted URL only.
import { openJournalStore } from './journal-store.js';
import { redactRedisUrl } from './redis-keys.js';
import { openRedisStore, type RedisStore } from './redis-store.js';
import type { Store } from './store.js';

export interface StoreSettings {
  backend: 'journal' | 'redis';
  path: string;
  durability: 'always' | 'none';
  compactAfterBytes: number;
  redisUrl: string | null;
  keyPrefix: string;
  /** The CA bundle trusted for a rediss:// URL; null: Node's default trust store. */
  redisCa: Buffer | null;
  redisCaPath: string | null;
}

export interface ServedStore extends Store {
  healthy(): boolean;
  /** 'degraded' while writes fail but reads work (the journal store on a failing disk); /health reports it. */
  health?(): 'ok' | 'degraded' | 'failed';
}

export interface OpenedStore {
  store: ServedStore;
  /** Set for the Redis backend: its connection serves the shared failure limiter. */
  redis: RedisStore | null;
  /** For the start-up log line. */
  description: string;
}

export async function openConfiguredStore(
  settings: StoreSettings,
  town: string,
  logger: { warn(msg: string): void; info?(msg: string): void },
): Promise<OpenedStore> {
  if (settings.backend === 'redis' && settings.redisUrl !== null) {
    const store = await openRedisStore({ url: settings.redisUrl, ca: settings.redisCa, keyPrefix: settings.keyPrefix, town, logger });
    const trust = settings.redisCaPath === null ? '' : `, CA ${settings.redisCaPath}`;
    return { store, redis: store, description: `store redis ${redactRedisUrl(settings.redisUrl)} (key prefix ${settings.keyPrefix}${trust})` };
  }
  const store = await openJournalStore({
    dir: settings.path,
    durability: settings.durability,
    compactAfterBytes: settings.compactAfterBytes,
    logger,
  });
  return { store, redis: null, description: `store ${settings.path}, durability ${settings.durability}` };
}
