// The failed-authentication limiter shared by every replica of a town: one
// Redis counter per client address (INCR, expiring 60 s after the first
// failure). When a counter reaches the limit, the replica that saw it
// publishes the block and every replica refuses the address locally until
// the counter expires.
//
// It implements the same synchronous FailureLimiter the authenticator already
// uses, so auth/ does not change: `blockedFor` answers from this replica's own
// in-memory limiter plus the blocks it has heard of; `recordFailure` counts
// locally at once and in Redis in the background, `withdraw` takes a count
// back (and lifts a block it had caused, on every replica). So each replica may verify
// about one Redis round trip's worth of attempts past the limit, and with
// Redis down the per-replica limiter still protects each process.
//
// Safety: addresses are hashed into key names (bounded length, nothing a
// client chose verbatim in a key); the blocked map is bounded like the
// in-memory one.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { runScript } from '../store/redis-connection.js';
import { FAILURE_SCRIPT, WITHDRAW_SCRIPT } from '../store/redis-scripts.js';
import { townKeys } from '../store/redis-keys.js';
import { ADDRESS_CEILING_FACTOR, type FailureLimiter } from './failure-limiter.js';

const WINDOW_MS = 60_000;

export interface RedisFailureLimiterOptions {
  client: Redis;
  /** Key prefix of the counters (TownKeys.authFailures). */
  counterPrefix: string;
  /** Pub/sub channel for blocks (TownKeys.blocked). */
  channel: string;
  maxPerMinute: number;
  clock: Clock;
  /** This replica's own limiter, consulted first and used alone while Redis is down. */
  local: FailureLimiter;
  maxAddresses?: number;
}

export interface SharedFailureLimiter extends FailureLimiter {
  close(): Promise<void>;
}

/** The counter prefix and channel of a town's limiter. */
export function redisLimiterKeys(keyPrefix: string, town: string): { counterPrefix: string; channel: string } {
  const keys = townKeys(keyPrefix, town);
  return { counterPrefix: keys.authFailures, channel: keys.blocked };
}

export async function createRedisFailureLimiter(options: RedisFailureLimiterOptions): Promise<SharedFailureLimiter> {
  const { client, clock, local, maxPerMinute } = options;
  const ceiling = maxPerMinute * ADDRESS_CEILING_FACTOR;
  const maxAddresses = options.maxAddresses ?? 50_000;
  const blockedUntil = new Map<string, number>();
  const subscriber = client.duplicate();
  subscriber.on('error', () => {});

  function block(address: string, untilMs: number): void {
    blockedUntil.delete(address);
    blockedUntil.set(address, untilMs);
    if (blockedUntil.size > maxAddresses) {
      const oldest = blockedUntil.keys().next().value;
      if (oldest !== undefined) blockedUntil.delete(oldest);
    }
  }

  subscriber.on('message', (_channel: string, payload: string) => {
    try {
      const { address, ttl } = JSON.parse(payload) as { address?: unknown; ttl?: unknown };
      if (typeof address !== 'string' || typeof ttl !== 'number') return;
      // ttl 0: a withdrawn attempt took the shared count back below the limit.
      if (ttl > 0) block(address, clock.now() + Math.min(ttl, WINDOW_MS));
      else blockedUntil.delete(address);
    } catch {
      // Not ours; ignore.
    }
  });
  // The duplicate is lazy like the store's client; with Redis down, blocks are simply not heard.
  await (subscriber.status === 'wait' ? subscriber.connect() : Promise.resolve())
    .then(() => subscriber.subscribe(options.channel))
    .catch(() => undefined);

  const counterKey = (address: string): string => options.counterPrefix + createHash('sha256').update(address).digest('hex').slice(0, 32);

  return {
    blockedFor(address, fingerprint) {
      const own = local.blockedFor(address, fingerprint);
      const until = blockedUntil.get(address);
      if (until === undefined) return own;
      const now = clock.now();
      if (until <= now) {
        blockedUntil.delete(address);
        return own;
      }
      return Math.max(own, Math.ceil((until - now) / 1000));
    },
    recordFailure(address, fingerprint) {
      local.recordFailure(address, fingerprint);
      runScript(client, FAILURE_SCRIPT, [counterKey(address)], [WINDOW_MS])
        .then((reply) => {
          const [count, ttl] = reply as [number, number];
          // Shared across replicas: the per-address ceiling (the per-credential zone stays per replica).
          if (count < ceiling) return;
          block(address, clock.now() + ttl);
          return client.publish(options.channel, JSON.stringify({ address, ttl }));
        })
        .catch(() => undefined);
    },
    withdraw(address, fingerprint) {
      local.withdraw(address, fingerprint);
      runScript(client, WITHDRAW_SCRIPT, [counterKey(address)], [])
        .then((left) => {
          // Attempts counted when they started can reach the limit for a moment; lift that block everywhere.
          if ((left as number) >= ceiling || !blockedUntil.has(address)) return;
          blockedUntil.delete(address);
          return client.publish(options.channel, JSON.stringify({ address, ttl: 0 }));
        })
        .catch(() => undefined);
    },
    async close() {
      await subscriber.quit().catch(() => undefined);
      subscriber.disconnect();
    },
  };
}
