// Operator routes (scope admin): reload the configuration, list the API keys.
// Joined into the route table by route-table.ts. The work happens elsewhere
// (admin/reloader.ts, auth/key-usage.ts); these only translate to HTTP.
//
// Security: the key list never includes hashes; a refused reload's detail is
// the configuration error we wrote (file paths and key names, no secrets).
import { HttpError } from '../errors.js';
import type { ReloadOutcome } from '../admin/reloader.js';
import type { KeyInfo } from '../auth/key-usage.js';
import type { RouteDef } from './route.js';

export interface AdminRouteDeps {
  reload(trigger: string): Promise<ReloadOutcome>;
  keys(): KeyInfo[];
}

export function adminRoutes(deps: AdminRouteDeps): RouteDef[] {
  return [
    {
      method: 'POST',
      path: '/v1/admin/reload',
      access: 'admin',
      summary: 'Re-read tinytown.toml and the environment: keys, scopes, expiry, OIDC settings, TLS certificate',
      success: { 200: 'Reloaded' },
      errors: ['admin.reload_failed'],
      async handler(ctx) {
        const outcome = await deps.reload(`POST /v1/admin/reload by ${ctx.principal.id}`);
        if (!outcome.ok) throw new HttpError('admin.reload_failed', `The configuration was not reloaded: ${outcome.error}`);
        return { status: 200, body: { status: 'reloaded', keys: outcome.keys, warnings: outcome.warnings } };
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/keys',
      access: 'admin',
      summary: 'The configured API keys: ids, scopes, expiry, disabled, last use (never hashes)',
      success: { 200: 'Key list' },
      handler() {
        const keys = deps.keys();
        return { status: 200, body: { keys, count: keys.length } };
      },
    },
  ];
}
