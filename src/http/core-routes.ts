// The server's own HTTP-only routes: health, readiness, metrics and the
// OpenAPI document. Everything else is an operation (src/operations/) bound in
// http-bindings.ts; both go into one route table.
import type { Clock } from '../clock.js';
import type { AuthMode } from '../config/config.js';
import { HttpError } from './http-errors.js';
import type { Gauge, Metrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import type { RawRoute, RouteDef } from './route.js';
import type { Town } from '../town/town.js';
import { int, nullable, num, obj, record, str } from '../operations/schema.js';

/** What the status and metrics routes need from the town. */
export type TownStatusSource = Pick<Town, 'summary' | 'info'>;

export interface CoreRouteDeps {
  clock: Clock;
  startedAt: number;
  version: string;
  authMode: AuthMode;
  metrics: Metrics;
  town: TownStatusSource;
  /** The full route table, for /openapi.json (read lazily: it includes these routes). */
  allRoutes: () => readonly RouteDef[];
  isReady: () => boolean;
  /** The server's own URL once listening (`https://...` with TLS), shown by /health. */
  baseUrl?: () => string | null;
  /** 'degraded' while the store cannot write (reads still work): /health answers 503 then. */
  storeHealth?: () => 'ok' | 'degraded' | 'failed';
}

const healthBody = obj(
  {
    status: str({ enum: ['ok', 'degraded'] }),
    uptime_secs: int({ minimum: 0 }),
    url: nullable(str({ description: 'Where this server listens, e.g. `https://127.0.0.1:8787` with TLS.' })),
    store: str({ enum: ['degraded', 'failed'], description: 'Only when degraded: the store cannot write (reads still work), or has failed.' }),
  },
  { required: ['status', 'uptime_secs', 'url'] },
);
// Tinytown's readiness fields; Redis is not probed here (null) and there is no mission dispatcher (idle).
const readyBody = record({
  status: str({ enum: ['ready'] }),
  redis: nullable(str({ enum: ['connected'] })),
  redis_latency_ms: nullable(num()),
  dispatcher: str({ enum: ['idle', 'running', 'stalled'] }),
  town: str(),
});

export function coreRoutes(deps: CoreRouteDeps): RawRoute[] {
  const uptime = (): number => Math.floor((deps.clock.now() - deps.startedAt) / 1000);
  // The same frozen answer while the uptime second, the URL and the store's health stand (liveness
  // probes and load balancers poll this): the pipeline then serializes it once.
  let lastHealth: { uptime: number; url: string | null; store: string; result: ReturnType<RawRoute['handler']> } | null = null;
  const health: RawRoute['handler'] = () => {
    const secs = uptime();
    const url = deps.baseUrl?.() ?? null;
    const store = deps.storeHealth?.() ?? 'ok';
    if (lastHealth !== null && lastHealth.uptime === secs && lastHealth.url === url && lastHealth.store === store) return lastHealth.result;
    const body = { status: 'ok', uptime_secs: secs, url };
    const result = Object.freeze(store === 'ok' ? { status: 200, body: Object.freeze(body) } : { status: 503, body: Object.freeze({ ...body, status: 'degraded', store }) });
    lastHealth = { uptime: secs, url, store, result };
    return result;
  };
  const ready: RawRoute['handler'] = () => {
    if (!deps.isReady()) throw new HttpError('server.shutting_down', 'The server is starting, shutting down, or cannot reach its store.');
    return { status: 200, body: { status: 'ready', redis: null, redis_latency_ms: null, dispatcher: 'idle', town: deps.town.info().name } };
  };
  // Built once and kept as text: a public document must not cost a rebuild per request.
  let openapi: string | null = null;

  return [
    { kind: 'raw', method: 'GET', path: '/health', access: 'public', summary: 'Liveness check', success: { 200: 'Alive', 503: 'Degraded: the store cannot write (reads still work)' }, output: healthBody, handler: health },
    { kind: 'raw', method: 'GET', path: '/healthz', access: 'public', summary: 'Liveness check (alias)', success: { 200: 'Alive', 503: 'Degraded: the store cannot write (reads still work)' }, output: healthBody, handler: health },
    { kind: 'raw', method: 'GET', path: '/ready', access: 'public', summary: 'Readiness check', success: { 200: 'Ready' }, output: readyBody, errors: ['server.shutting_down'], handler: ready },
    { kind: 'raw', method: 'GET', path: '/readyz', access: 'public', summary: 'Readiness check (alias)', success: { 200: 'Ready' }, output: readyBody, errors: ['server.shutting_down'], handler: ready },
    {
      kind: 'raw',
      method: 'GET',
      path: '/metrics',
      access: 'public',
      summary: 'Prometheus metrics',
      success: { 200: 'Prometheus text format' },
      async handler() {
        const s = await deps.town.summary();
        const byState = (m: Record<string, number>): Array<[string, number]> => Object.entries(m).map(([k, v]) => [`state="${k}"`, v]);
        const gauges: Gauge[] = [
          { name: 'townhall_agents', help: 'Agents by state.', values: byState(s.agents_by_state) },
          { name: 'townhall_tasks', help: 'Tasks by state.', values: byState(s.tasks_by_state) },
          { name: 'townhall_backlog_length', help: 'Tasks waiting in the backlog.', values: [['', s.backlog]] },
          { name: 'townhall_urgent_messages', help: 'Urgent messages waiting in inboxes.', values: [['', s.urgent_messages]] },
        ];
        return { status: 200, body: deps.metrics.render(gauges), contentType: 'text/plain; version=0.0.4; charset=utf-8' };
      },
    },
    {
      kind: 'raw',
      method: 'GET',
      path: '/openapi.json',
      access: 'public',
      summary: 'This API as an OpenAPI 3.1 document',
      success: { 200: 'OpenAPI document' },
      handler() {
        openapi ??= JSON.stringify(buildOpenApi(deps.allRoutes(), { version: deps.version, authMode: deps.authMode }));
        return { status: 200, body: openapi };
      },
    },
  ];
}
