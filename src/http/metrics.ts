// Prometheus text metrics. Label values come only from bounded sets (route
// patterns, not raw paths; known methods; failure reasons we named), so a
// scanner cannot grow memory by inventing URLs.
import type { Clock } from '../clock.js';

export interface Gauge {
  name: string;
  help: string;
  /** label text (e.g. `state="idle"`, or '' for none) -> value */
  values: ReadonlyArray<readonly [string, number]>;
}

export interface Metrics {
  recordRequest(route: string, method: string, status: number): void;
  recordAuthFailure(reason: string): void;
  recordArgon2(): void;
  recordCacheHit(): void;
  render(extra?: readonly Gauge[]): string;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function createMetrics(clock: Clock, startedAt: number): Metrics {
  // route pattern -> method -> status -> count; label text is built only when rendering.
  const requests = new Map<string, Map<string, Map<number, { n: number }>>>();
  // The last row counted: a run of alike requests (a probe, a polling client) costs no lookup.
  let last: { route: string; method: string; status: number; row: { n: number } } | null = null;
  const authFailures = new Map<string, number>();
  let argon2 = 0;
  let cacheHits = 0;

  function bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  function* requestRows(): Generator<readonly [string, number]> {
    for (const [route, byMethod] of requests) {
      for (const [method, byStatus] of byMethod) {
        for (const [status, { n }] of byStatus) yield [`route="${label(route)}",method="${method}",status="${status}"`, n];
      }
    }
  }

  function block(name: string, help: string, type: 'counter' | 'gauge', rows: Iterable<readonly [string, number]>): string {
    let out = `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    for (const [labels, value] of rows) out += `${name}${labels === '' ? '' : `{${labels}}`} ${value}\n`;
    return out;
  }

  return {
    recordRequest(route, method, status) {
      if (last !== null && last.status === status && last.route === route && last.method === method) {
        last.row.n++;
        return;
      }
      const m = METHODS.has(method) ? method : 'OTHER';
      let byMethod = requests.get(route);
      if (byMethod === undefined) requests.set(route, (byMethod = new Map()));
      let byStatus = byMethod.get(m);
      if (byStatus === undefined) byMethod.set(m, (byStatus = new Map()));
      let row = byStatus.get(status);
      if (row === undefined) byStatus.set(status, (row = { n: 0 }));
      row.n++;
      last = { route, method, status, row };
    },
    recordAuthFailure(reason) {
      bump(authFailures, `reason="${label(reason)}"`);
    },
    recordArgon2() {
      argon2++;
    },
    recordCacheHit() {
      cacheHits++;
    },
    render(extra = []) {
      return [
        block('townhall_http_requests_total', 'HTTP requests by route pattern, method and status.', 'counter', requestRows()),
        block('townhall_auth_failures_total', 'Failed authentications by reason.', 'counter', authFailures),
        block('townhall_argon2_verifications_total', 'Argon2 verifications run.', 'counter', [['', argon2]]),
        block('townhall_auth_cache_hits_total', 'Credential checks answered from the verified cache.', 'counter', [['', cacheHits]]),
        block('townhall_uptime_seconds', 'Seconds since the server started.', 'gauge', [['', Math.floor((clock.now() - startedAt) / 1000)]]),
        ...extra.map((g) => block(g.name, g.help, 'gauge', g.values)),
      ].join('');
    },
  };
}
