// Builds every dependency from one Config and starts the server. The only
// module that imports http/, auth/, store/ and town/ together.
import { createApiKeyVerifier } from './auth/api-keys.js';
import { createArgon2Gate } from './auth/argon2-gate.js';
import { createAuthenticator } from './auth/authenticate.js';
import { createFailureLimiter } from './auth/failure-limiter.js';
import { createRedisFailureLimiter, redisLimiterKeys, type SharedFailureLimiter } from './auth/redis-failure-limiter.js';
import { createAuditLogger } from './audit/audit-logger.js';
import { createServerLogger, type ServerLogger } from './audit/server-logger.js';
import type { Clock } from './clock.js';
import type { Config } from './config/config.js';
import { HTTP_BINDINGS } from './http/http-bindings.js';
import { createMetrics } from './http/metrics.js';
import { createPipeline } from './http/pipeline.js';
import { buildRouteTable } from './http/route-table.js';
import { createRouter } from './http/router.js';
import { startHttpServer } from './http/server.js';
import { createIdempotency, purgeExpiredIdempotency } from './operations/idempotency.js';
import { createInvoker } from './operations/invoke.js';
import { townOperations } from './operations/town-operations.js';
import { openConfiguredStore } from './store/open-store.js';
import { createTown } from './town/town.js';
import { VERSION } from './version.js';

export interface TownhallIo {
  /** The audit stream (stdout in production). */
  audit: (line: string) => void;
  /** Operational log lines (stderr in production). */
  log: (line: string) => void;
}

export interface Townhall {
  readonly port: number;
  readonly address: string;
  readonly logger: ServerLogger;
  /** Graceful stop: drain requests, flush the store, release the lock. */
  close(graceMs?: number): Promise<void>;
}

const PURGE_INTERVAL_MS = 60 * 60 * 1000;

export async function startTownhall(config: Config, io: TownhallIo, clock: Clock, warnings: readonly string[] = []): Promise<Townhall> {
  const startedAt = clock.now();
  const logger = createServerLogger(config.log.format, config.verbose, io.log, clock);
  for (const w of warnings) logger.warn(w);
  const metrics = createMetrics(clock, startedAt);
  const { store, redis, description: storeDescription } = await openConfiguredStore(config.store, config.town.name, logger);
  let sharedLimiter: SharedFailureLimiter | null = null;
  try {
    const { auth } = config;
    const verifier =
      auth.mode === 'api_key'
        ? await createApiKeyVerifier({
            keys: auth.keys,
            clock,
            cacheTtlMs: auth.verifyCacheTtlSecs * 1000,
            gate: createArgon2Gate(auth.argon2MaxConcurrency, auth.argon2MaxQueue),
            onArgon2: () => metrics.recordArgon2(),
            onCacheHit: () => metrics.recordCacheHit(),
          })
        : null;
    const localLimiter = createFailureLimiter(auth.maxFailedAttemptsPerMinute, clock);
    // With Redis, failed attempts count across every replica of the town.
    sharedLimiter = redis === null ? null : await createRedisFailureLimiter({ ...redisLimiterKeys(config.store.keyPrefix, config.town.name), client: redis.client, maxPerMinute: auth.maxFailedAttemptsPerMinute, clock, local: localLimiter });
    const authenticator = createAuthenticator(auth.mode, verifier, sharedLimiter ?? localLimiter);
    const town = createTown({ store, clock, config: config.town });
    let ready = false;
    const uptimeSecs = (): number => Math.floor((clock.now() - startedAt) / 1000);
    const operations = townOperations(town, { version: VERSION, authMode: auth.mode, uptimeSecs });
    const invoker = createInvoker({ audit: createAuditLogger(config.log.format, io.audit, clock), idempotency: createIdempotency(store, clock) });
    const routes = buildRouteTable(
      { clock, startedAt, version: VERSION, authMode: auth.mode, metrics, town, isReady: () => ready && store.healthy() },
      operations,
      HTTP_BINDINGS,
    );
    const pipeline = createPipeline({
      router: createRouter(routes),
      authenticator,
      invoker,
      logger,
      metrics,
      requestTimeoutMs: config.requestTimeoutMs,
      maxBodyBytes: config.maxBodyBytes,
      trustProxy: config.trustProxy,
      basicPossible: auth.mode === 'api_key' && auth.keys.some((k) => k.named),
    });
    const server = await startHttpServer(pipeline, {
      bind: config.bind,
      port: config.port,
      requestTimeoutMs: config.requestTimeoutMs,
      headersTimeoutMs: config.headersTimeoutMs,
      maxConnections: config.maxConnections,
    });
    ready = true;
    const purge = setInterval(() => {
      purgeExpiredIdempotency(store, clock).catch((err: unknown) => logger.error('purging idempotency records failed', err));
    }, PURGE_INTERVAL_MS);
    purge.unref();
    logger.info(
      `listening on http://${server.address.includes(':') ? `[${server.address}]` : server.address}:${server.port} ` +
        `(town "${config.town.name}", auth mode ${auth.mode}, ${auth.keys.length} key(s), ${storeDescription})`,
    );
    let closing: Promise<void> | null = null;
    return {
      port: server.port,
      address: server.address,
      logger,
      close(graceMs) {
        closing ??= (async () => {
          ready = false;
          clearInterval(purge);
          await server.close(graceMs);
          await sharedLimiter?.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await sharedLimiter?.close();
    await store.close();
    throw err;
  }
}
