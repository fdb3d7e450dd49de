// The server's own routes: health, readiness, metrics, status and the OpenAPI
// document. Town routes live in town-routes.ts; both go into one route table.
import type { Clock } from '../clock.js';
import type { AuthMode } from '../config/config.js';
import { HttpError } from '../errors.js';
import type { Gauge, Metrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import type { RouteDef } from './route.js';
import type { Town } from '../town/town.js';

/** What the status and metrics routes need from the town. */
export type TownStatusSource = Pick<Town, 'summary'>;

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
}

export function coreRoutes(deps: CoreRouteDeps): RouteDef[] {
  const uptime = (): number => Math.floor((deps.clock.now() - deps.startedAt) / 1000);
  const health: RouteDef['handler'] = () => {
    const url = deps.baseUrl?.() ?? null;
    return { status: 200, body: { status: 'ok', uptime_secs: uptime(), ...(url === null ? {} : { url }) } };
  };
  const ready: RouteDef['handler'] = () => {
    if (!deps.isReady()) throw new HttpError('server.shutting_down', 'The server is starting or shutting down.');
    return { status: 200, body: { status: 'ready' } };
  };
  let openapi: Record<string, unknown> | null = null;

  return [
    { method: 'GET', path: '/health', access: 'public', summary: 'Liveness check', success: { 200: 'Alive' }, handler: health },
    { method: 'GET', path: '/healthz', access: 'public', summary: 'Liveness check (alias)', success: { 200: 'Alive' }, handler: health },
    { method: 'GET', path: '/ready', access: 'public', summary: 'Readiness check', success: { 200: 'Ready' }, errors: ['server.shutting_down'], handler: ready },
    { method: 'GET', path: '/readyz', access: 'public', summary: 'Readiness check (alias)', success: { 200: 'Ready' }, errors: ['server.shutting_down'], handler: ready },
    {
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
      method: 'GET',
      path: '/openapi.json',
      access: 'public',
      summary: 'This API as an OpenAPI 3.1 document',
      success: { 200: 'OpenAPI document' },
      handler() {
        openapi ??= buildOpenApi(deps.allRoutes(), { version: deps.version });
        return { status: 200, body: openapi };
      },
    },
    {
      method: 'GET',
      path: '/v1/status',
      access: 'town.read',
      summary: 'Server and town status',
      success: { 200: 'Status' },
      async handler() {
        const s = await deps.town.summary();
        return {
          status: 200,
          body: {
            name: s.name,
            version: deps.version,
            uptime_secs: uptime(),
            auth_mode: deps.authMode,
            agents: s.agents,
            agents_by_state: s.agents_by_state,
            tasks_by_state: s.tasks_by_state,
            backlog: s.backlog,
          },
        };
      },
    },
  ];
}
