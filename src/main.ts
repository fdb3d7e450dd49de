// Builds every dependency from one Config and starts the server. The only
// module that imports http/, auth/, store/ and town/ together.
import { createApiKeyVerifier } from './auth/api-keys.js';
import { createArgon2Gate } from './auth/argon2-gate.js';
import { createAuthenticator } from './auth/authenticate.js';
import { createFailureLimiter } from './auth/failure-limiter.js';
import { createAuditLogger } from './audit/audit-logger.js';
import { createDenialThrottle } from './audit/denial-throttle.js';
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
import { openJournalStore } from './store/journal-store.js';
import { createTown } from './town/town.js';
import { VERSION } from './version.js';

export interface TownhallIo {
  /** The audit stream (stdout in production). */
  audit: (line: string) => void;
  /** Operational log lines (stderr in production). */
  log: (line: string) => void;
  /** Bytes of audit lines not yet written (stdout's writableLength); past AUDIT_BACKLOG_LIMIT operations get 503. */
  auditBacklog?: () => number;
}

/** Audit bytes allowed to wait for stdout before new operations are refused. */
export const AUDIT_BACKLOG_LIMIT = 4 * 1024 * 1024;

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
  const store = await openJournalStore({
    dir: config.store.path,
    durability: config.store.durability,
    compactAfterBytes: config.store.compactAfterBytes,
    logger,
  });
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
    const authenticator = createAuthenticator(auth.mode, verifier, createFailureLimiter(auth.maxFailedAttemptsPerMinute, clock));
    const town = createTown({ store, clock, config: config.town });
    let ready = false;
    const uptimeSecs = (): number => Math.floor((clock.now() - startedAt) / 1000);
    const operations = townOperations(town, { version: VERSION, authMode: auth.mode, uptimeSecs });
    const auditLines = createAuditLogger(config.log.format, io.audit, clock);
    const audit = createDenialThrottle(auditLines, clock, (event, suppressed) => auditLines.log({ ...event, suppressed }));
    const invoker = createInvoker({ audit, idempotency: createIdempotency(store, clock) });
    const backlog = io.auditBacklog;
    let backlogged = false;
    const auditBacklogged = (): boolean => {
      if (backlog === undefined) return false;
      const now = backlog() > AUDIT_BACKLOG_LIMIT;
      if (now !== backlogged) {
        backlogged = now;
        if (now) logger.warn('the audit log (stdout) is not keeping up; refusing operations with 503 until it drains');
        else logger.info('the audit log caught up; accepting operations again');
      }
      return now;
    };
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
      auditBacklogged,
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
        `(town "${config.town.name}", auth mode ${auth.mode}, ${auth.keys.length} key(s), store ${config.store.path}, durability ${config.store.durability})`,
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
          audit.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
