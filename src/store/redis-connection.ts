// Opens the Redis connections a replica uses and checks, once at start-up,
// that the server can keep a town safely.
//
// Connection policy (why each option):
// - no offline queue, no per-request retries, no automatic re-send: a command
//   issued while Redis is down fails at once (the request answers 503) instead
//   of waiting, and a commit whose reply was lost is never silently re-sent;
// - a command timeout, so a hung Redis cannot hold a request past it;
// - reconnection in the background every <= 1 s, so service comes back by
//   itself when Redis does;
// - TLS whenever the URL's scheme is rediss: (in any letter case: ioredis's
//   own check is case-sensitive and would send `REDISS://` in clear), trusting
//   the configured CA bundle, else Node's default trust store.
//
// Safety: the URL may carry a password. Nothing here puts the URL, or an
// error message that could echo it, into an exception or a log line: only
// `redactRedisUrl(url)` and error codes.
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { redactRedisUrl } from './redis-keys.js';
import { StoreOpenError } from './store-errors.js';

export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;

export interface RedisLogger {
  warn(msg: string): void;
  info?(msg: string): void;
}

/** The CA bundle (PEM) trusted for rediss://; null: Node's default trust store. */
export type RedisCa = Buffer | null;

/** ioredis TLS options for the URL: none for redis://, the CA (or system CAs) for rediss://. */
export function redisTlsOptions(url: string, ca: RedisCa): Pick<RedisOptions, 'tls'> {
  let secure: boolean;
  try {
    secure = new URL(url).protocol === 'rediss:';
  } catch {
    secure = false;
  }
  if (!secure) return {};
  return { tls: ca === null ? {} : { ca } };
}

export function createRedisClient(url: string, commandTimeoutMs: number, logger: RedisLogger, role: string, ca: RedisCa = null): Redis {
  const client = new Redis(url, {
    ...redisTlsOptions(url, ca),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: commandTimeoutMs,
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
    // No CLIENT SETINFO on connect: a least-privilege ACL user (README) may not run it.
    disableClientInfo: true,
  });
  // One warning per outage, not one per reconnection attempt; none before the
  // first connection (connectRedis turns that failure into the start-up line).
  let down = false;
  let connected = false;
  client.on('error', (err: unknown) => {
    if (down || !connected) return;
    down = true;
    logger.warn(`redis ${role} connection to ${redactRedisUrl(url)} failed (${describeRedisError(err)}); retrying in the background`);
  });
  client.on('ready', () => {
    connected = true;
    if (down) logger.info?.(`redis ${role} connection to ${redactRedisUrl(url)} is back`);
    down = false;
  });
  return client;
}

/** Connect, or throw a StoreOpenError naming the (redacted) URL and the reason. */
export async function connectRedis(client: Redis, url: string): Promise<void> {
  // The first error says why (WRONGPASS, a certificate code); what connect()
  // rejects with after it is often only "Connection is closed".
  let first: unknown;
  const remember = (err: unknown): void => void (first ??= err);
  client.on('error', remember);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    const reason = describeRedisError(first ?? err);
    throw new StoreOpenError(`cannot reach Redis at ${redactRedisUrl(url)} (${reason}); ${connectHint(reason)}`);
  } finally {
    client.off('error', remember);
  }
}

/** What to check for a start-up connection failure, by its (secret-free) reason. */
function connectHint(reason: string): string {
  if (/^(WRONGPASS|NOAUTH|NOPERM)$/.test(reason)) return 'check the user and password in [townhall.store] redis_url and the ACL of that user';
  if (/CERT|SIGNATURE|ISSUER|^ERR_TLS|^ERR_SSL/.test(reason)) return 'check [townhall.store] redis_ca_path (the CA that signs the Redis certificate) and that the certificate names the host in redis_url';
  return 'check [townhall.store] redis_url and that redis-server is running';
}

const CHECKED_SETTINGS = ['maxmemory-policy', 'appendonly', 'appendfsync'] as const;

/**
 * Refuses an eviction policy that could drop town keys; warns when the AOF
 * settings cannot make acknowledged writes durable. Servers that refuse
 * CONFIG (managed Redis, restrictive ACLs) get a warning instead.
 */
export async function checkRedisServer(client: Redis, url: string, logger: RedisLogger): Promise<void> {
  // Only the settings we check: `CONFIG GET *` would also hand us requirepass
  // and masterauth. One parameter per call works on Redis 6 as well as 7.
  const settings = new Map<string, string>();
  try {
    const replies = await Promise.all(CHECKED_SETTINGS.map((name) => client.call('CONFIG', 'GET', name) as Promise<string[]>));
    for (const reply of replies) for (let i = 0; i + 1 < reply.length; i += 2) settings.set(reply[i]!, reply[i + 1]!);
  } catch (err) {
    logger.warn(`cannot read the configuration of Redis at ${redactRedisUrl(url)} (${describeRedisError(err)}); make sure maxmemory-policy is noeviction and appendonly yes with appendfsync always`);
    return;
  }
  const policy = settings.get('maxmemory-policy') ?? 'noeviction';
  if (policy !== 'noeviction') {
    throw new StoreOpenError(`Redis at ${redactRedisUrl(url)} has maxmemory-policy ${policy}, which can evict town data; set maxmemory-policy noeviction`);
  }
  if (settings.get('appendonly') !== 'yes') {
    logger.warn(`Redis at ${redactRedisUrl(url)} has appendonly no: a Redis restart loses acknowledged writes; set appendonly yes and appendfsync always`);
  } else if (settings.get('appendfsync') !== 'always') {
    logger.warn(`Redis at ${redactRedisUrl(url)} has appendfsync ${settings.get('appendfsync') ?? '?'}: a Redis crash can lose the last second of acknowledged writes; set appendfsync always`);
  }
}

/** The command and subscriber connections of a replica, connected and with the server checked. */
export async function openRedisConnections(url: string, commandTimeoutMs: number, logger: RedisLogger, ca: RedisCa = null): Promise<{ client: Redis; subscriber: Redis }> {
  const client = createRedisClient(url, commandTimeoutMs, logger, 'command', ca);
  await connectRedis(client, url);
  const subscriber = createRedisClient(url, commandTimeoutMs, logger, 'subscriber', ca);
  try {
    await checkRedisServer(client, url, logger);
    await connectRedis(subscriber, url);
  } catch (err) {
    client.disconnect();
    subscriber.disconnect();
    throw err;
  }
  return { client, subscriber };
}

/** A short, secret-free description of a Redis or socket error. */
export function describeRedisError(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const message = (err as { message?: unknown }).message;
    // Redis error replies start with an upper-case code word (WRONGPASS, NOAUTH, NOSCRIPT, ...).
    if (typeof message === 'string') {
      if (/^Command timed out/.test(message)) return 'command timed out';
      if (/^Connection is closed/.test(message)) return 'connection closed';
      if (/Stream isn't writeable/.test(message)) return 'not connected';
      const word = /^[A-Z][A-Z_]{2,}\b/.exec(message);
      if (word !== null) return word[0];
    }
  }
  return 'error';
}

/** Runs a Lua script by its SHA1, loading it on the first NOSCRIPT (which means it did not run). */
export async function runScript(client: Redis, script: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  const sha = scriptSha(script);
  try {
    return await client.evalsha(sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return client.eval(script, keys.length, ...keys, ...args);
    throw err;
  }
}

const shas = new Map<string, string>();
function scriptSha(script: string): string {
  let sha = shas.get(script);
  if (sha === undefined) shas.set(script, (sha = createHash('sha1').update(script).digest('hex')));
  return sha;
}
