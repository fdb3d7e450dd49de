// Builds every dependency from one Config and starts the server. The only
// module that imports http/, auth/, store/ and town/ together.
import { createReloader, type ReloadOutcome } from './admin/reloader.js';
import { createArgon2Gate } from './auth/argon2-gate.js';
import { buildAuthenticator, createLiveAuthenticator, type AuthRuntime } from './auth/build-authenticator.js';
import { createFailureLimiter } from './auth/failure-limiter.js';
import { createRedisFailureLimiter, redisLimiterKeys, type SharedFailureLimiter } from './auth/redis-failure-limiter.js';
import type { FetchJson } from './auth/jwks-source.js';
import { createKeyUsage, describeKeys } from './auth/key-usage.js';
import { createAuditBatch } from './audit/audit-batch.js';
import { createAuditLogger } from './audit/audit-logger.js';
import { createDenialThrottle } from './audit/denial-throttle.js';
import { createServerLogger, type ServerLogger } from './audit/server-logger.js';
import type { Clock } from './clock.js';
import type { Config } from './config/config.js';
import type { LoadedConfig } from './config/load-config.js';
import { ADMIN_BINDINGS, HTTP_BINDINGS } from './http/http-bindings.js';
import { createMetrics } from './http/metrics.js';
import { createProxyTrust } from './http/client-address.js';
import { createPipeline } from './http/pipeline.js';
import { buildRouteTable } from './http/route-table.js';
import { createRouter } from './http/router.js';
import { startHttpServer, type RunningServer } from './http/server.js';
import { adminOperations } from './operations/admin-operations.js';
import { createIdempotency, purgeExpiredIdempotency } from './operations/idempotency.js';
import { createInvoker } from './operations/invoke.js';
import { createMcpDispatcher } from './mcp/mcp-dispatcher.js';
import { createMcpHttp, mcpEndpoints } from './mcp/mcp-http.js';
import { createSessionTable } from './mcp/sessions.js';
import { townOperations } from './operations/town-operations.js';
import { openConfiguredStore } from './store/open-store.js';
import { secureContextOptions, serverTlsOptions } from './tls/secure-options.js';
import { createCrsDesk } from './town/crs-desk.js';
import { redactRedisUrl } from './store/redis-keys.js';
import { applyRetention, retentionIntervalMs } from './town/retention.js';
import { buildTownIndexes } from './town/town-indexes.js';
import { createTown, type Town } from './town/town.js';
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

/** Optional start-up hooks. */
export interface StartOptions {
  /** Re-reads tinytown.toml and the environment, for SIGHUP and admin.reload. */
  reloadConfig?: () => LoadedConfig;
  /** How OIDC fetches discovery and JWKS documents; default fetch(). */
  fetchJson?: FetchJson;
}

export interface Townhall {
  readonly port: number;
  readonly address: string;
  /** `http` or `https`. */
  readonly scheme: 'http' | 'https';
  readonly logger: ServerLogger;
  /** Re-read the configuration and apply it; a refused reload changes nothing. */
  reload(trigger: string): Promise<ReloadOutcome>;
  /** Graceful stop: drain requests, flush the store, release the lock. */
  close(graceMs?: number): Promise<void>;
  /** Hands the audit lines of this turn to `io.audit` now (for the process's last moments). */
  flushAudit(): void;
}

const PURGE_INTERVAL_MS = 60 * 60 * 1000;
const CRS_DEADLINE_TICK_MS = 1000;
const MCP_MAX_SESSIONS = 1024;
const MCP_MAX_SESSIONS_PER_KEY = 64;
const MCP_SESSION_IDLE_MS = 30 * 60 * 1000;
const MCP_MAX_BATCH = 32;
const WILDCARD_BINDS: ReadonlySet<string> = new Set(['0.0.0.0', '::', '[::]']);

export async function startTownhall(config: Config, io: TownhallIo, clock: Clock, warnings: readonly string[] = [], opts: StartOptions = {}): Promise<Townhall> {
  const startedAt = clock.now();
  const logger = createServerLogger(config.log.format, config.verbose, io.log, clock);
  for (const w of warnings) logger.warn(w);
  const metrics = createMetrics(clock, startedAt);
  const { store, redis, description: storeDescription } = await openConfiguredStore(config.store, config.town.name, logger);
  let sharedLimiter: SharedFailureLimiter | null = null;
  try {
    const { auth } = config;
    const localLimiter = createFailureLimiter(auth.maxFailedAttemptsPerMinute, clock);
    // With Redis, failed attempts count across every replica of the town.
    sharedLimiter = redis === null ? null : await createRedisFailureLimiter({ ...redisLimiterKeys(config.store.keyPrefix, config.town.name), client: redis.client, maxPerMinute: auth.maxFailedAttemptsPerMinute, clock, local: localLimiter });
    // What outlives a reload: the limiter's memory, the Argon2 gate, key usage times.
    const usage = createKeyUsage(clock);
    const authRuntime: AuthRuntime = {
      clock,
      limiter: sharedLimiter ?? localLimiter,
      gate: createArgon2Gate(auth.argon2MaxConcurrency, auth.argon2MaxQueue),
      usage,
      metrics,
      log: logger,
      ...(opts.fetchJson === undefined ? {} : { fetchJson: opts.fetchJson }),
    };
    const authenticator = createLiveAuthenticator(await buildAuthenticator(config, authRuntime));
    let server: RunningServer | null = null;
    // Whether a 401 offers Basic: some named key is accepted in this mode.
    const offersBasic = (c: Config): boolean =>
      (c.auth.mode === 'api_key' || c.auth.mode === 'mtls' || (c.auth.mode === 'oidc' && c.auth.acceptApiKeys)) && c.auth.keys.some((k) => k.named);
    let basicPossible = offersBasic(config);
    const reloader = createReloader({
      initial: config,
      load: opts.reloadConfig ?? null,
      build: (next) => buildAuthenticator(next, authRuntime),
      install(next, nextAuthenticator) {
        if (next.tls !== null) server?.setSecureContext(secureContextOptions(next.tls));
        authenticator.replace(nextAuthenticator);
        basicPossible = offersBasic(next);
      },
      logger,
    });
    // Tinytown's redis_url: the redacted URL when the town is on Redis, else null.
    const redisUrl = config.store.redisUrl === null ? null : redactRedisUrl(config.store.redisUrl);
    const town = createTown({ store, clock, config: { ...config.town, redisUrl } });
    await store.read(buildTownIndexes);
    let ready = false;
    const uptimeSecs = (): number => Math.floor((clock.now() - startedAt) / 1000);
    const crs = createCrsDesk(town);
    // A status answer may be reused while the version stands, unless other processes write the store too.
    const localVersion = (): number | null => (redis === null && store.onRemoteChange === undefined && store.health?.() !== 'failed' ? store.version() : null);
    const operations = [
      ...townOperations(town, { version: VERSION, authMode: auth.mode, uptimeSecs, localVersion }, crs),
      ...adminOperations({ reload: (trigger) => reloader.reload(trigger), keys: () => describeKeys(reloader.current().auth.keys, usage) }),
    ];
    // Fixed once listening (asked by every /health).
    let url: string | null = null;
    const baseUrl = (): string | null => (url ??= server === null ? null : `${server.scheme}://${server.address.includes(':') ? `[${server.address}]` : server.address}:${server.port}`);
    // One audit write per event-loop turn; what waits in the batch counts toward the backlog bound.
    const auditOut = createAuditBatch(io.audit);
    const auditLines = createAuditLogger(config.log.format, auditOut.write, clock);
    const audit = createDenialThrottle(auditLines, clock, (event, suppressed) => auditLines.log({ ...event, suppressed }));
    const invoker = createInvoker({ audit, idempotency: createIdempotency(store, clock) });
    const backlog = io.auditBacklog;
    let backlogged = false;
    const auditBacklogged = (): boolean => {
      if (backlog === undefined) return false;
      const now = backlog() + auditOut.pendingBytes > AUDIT_BACKLOG_LIMIT;
      if (now !== backlogged) {
        backlogged = now;
        if (now) logger.warn('the audit log (stdout) is not keeping up; refusing operations with 503 until it drains');
        else logger.info('the audit log caught up; accepting operations again');
      }
      return now;
    };
    const routes = buildRouteTable(
      { clock, startedAt, version: VERSION, authMode: auth.mode, metrics, town, isReady: () => ready && store.healthy(), baseUrl, storeHealth: () => store.health?.() ?? 'ok' },
      operations,
      [...HTTP_BINDINGS, ...ADMIN_BINDINGS],
    );
    const mcp = createMcpHttp({
      authenticator,
      invoker,
      dispatcher: createMcpDispatcher({ operations, version: VERSION, logger }),
      sessions: createSessionTable({ clock, maxSessions: MCP_MAX_SESSIONS, maxPerPrincipal: MCP_MAX_SESSIONS_PER_KEY, idleTimeoutMs: MCP_SESSION_IDLE_MS }),
      logger,
      maxBodyBytes: config.maxBodyBytes,
      maxBatch: MCP_MAX_BATCH,
      origins: { ownHosts: WILDCARD_BINDS.has(config.bind) ? [] : [config.bind.replace(/^\[(.*)\]$/, '[$1]')] },
      // Read per request: a reload may add named keys or change the OIDC issuer.
      basicPossible: () => basicPossible,
      issuer: () => reloader.current().auth.oidc?.issuer,
      onAuthFailure: (reason) => metrics.recordAuthFailure(reason),
    });
    routes.push(...mcpEndpoints(mcp).map((e) => ({ kind: 'handoff' as const, access: 'public' as const, ...e })));
    const pipeline = createPipeline({
      router: createRouter(routes),
      authenticator,
      invoker,
      logger,
      metrics,
      requestTimeoutMs: config.requestTimeoutMs,
      maxBodyBytes: config.maxBodyBytes,
      bodyLimits: { crs_sarif: config.crs.maxSarifBytes },
      proxies: createProxyTrust(config.trustProxy),
      auditBacklogged,
      // A getter: a reload may add or remove named keys.
      get basicPossible() {
        return basicPossible;
      },
    });
    const running = await startHttpServer(pipeline, {
      bind: config.bind,
      port: config.port,
      requestTimeoutMs: config.requestTimeoutMs,
      headersTimeoutMs: config.headersTimeoutMs,
      maxConnections: config.maxConnections,
      ...(config.tls === null ? {} : { tls: serverTlsOptions(config.tls, config.mtls) }),
    });
    server = running;
    ready = true;
    const purge = setInterval(() => {
      purgeExpiredIdempotency(store, clock).catch((err: unknown) => logger.error('purging idempotency records failed', err));
      crs.purge().catch((err: unknown) => logger.error('purging old CRS message ids failed', err));
    }, PURGE_INTERVAL_MS);
    purge.unref();
    // CRS deadlines: a task past its deadline fails even if nobody looks at it.
    // A failure is logged once until the next success, not every tick.
    let expiryFailing = false;
    const deadlines = setInterval(() => {
      crs.expireDue().then(
        () => void (expiryFailing = false),
        (err: unknown) => {
          if (!expiryFailing) logger.error('expiring CRS deadlines failed (logged once until it works again)', err);
          expiryFailing = true;
        },
      );
    }, CRS_DEADLINE_TICK_MS);
    deadlines.unref();
    const retention = startRetention(town, config.store.retainCompletedSecs, logger);
    const tlsNote = config.tls === null ? '' : `, TLS ${config.tls.minVersion}+${config.mtls === null ? '' : `, mTLS ${config.mtls.required ? 'required' : 'optional'}`}`;
    logger.info(
      `listening on ${baseUrl()} ` +
        `(town "${config.town.name}", auth mode ${auth.mode}, ${auth.keys.length} key(s)${tlsNote}, ${storeDescription})`,
    );
    let closing: Promise<void> | null = null;
    return {
      port: running.port,
      address: running.address,
      scheme: running.scheme,
      logger,
      reload: (trigger) => reloader.reload(trigger),
      flushAudit: () => auditOut.flush(),
      close(graceMs) {
        closing ??= (async () => {
          ready = false;
          clearInterval(purge);
          clearInterval(deadlines);
          if (retention !== null) clearInterval(retention);
          await running.close(graceMs);
          audit.close();
          auditOut.close();
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

/** Sweep finished tasks past `retainSecs` on a timer (never two sweeps at once); null when 0 keeps everything. */
function startRetention(town: Town, retainSecs: number, logger: ServerLogger): NodeJS.Timeout | null {
  if (retainSecs === 0) return null;
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    applyRetention(town, retainSecs * 1000)
      .then(
        (n) => {
          if (n > 0) logger.debug(`retention: removed ${n} finished task(s) older than ${retainSecs} s`);
        },
        (err: unknown) => logger.error('retention sweep failed', err),
      )
      .finally(() => {
        sweeping = false;
      });
  }, retentionIntervalMs(retainSecs));
  timer.unref();
  return timer;
}
