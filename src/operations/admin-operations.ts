// Operator operations (scope admin): reload the configuration, list the API
// keys. The work happens elsewhere (admin/reloader.ts, auth/key-usage.ts);
// these declare the operations every transport offers.
//
// Security: the key list never includes hashes; a refused reload's detail is
// the configuration error we wrote (file paths and key names, no secrets).
import type { ReloadOutcome } from '../admin/reloader.js';
import type { KeyInfo } from '../auth/key-usage.js';
import { OpError } from '../errors.js';
import { defineOperation, type AnyOperation } from './operation.js';
import { arr, bool, int, nullable, obj, record, str } from './schema.js';
import { timeSchema } from './town-schemas.js';

export interface AdminDeps {
  reload(trigger: string): Promise<ReloadOutcome>;
  keys(): KeyInfo[];
}

const keySchema = record({
  id: str(),
  scopes: arr(str()),
  expires_at: nullable(timeSchema),
  disabled: bool(),
  last_used_at: nullable(timeSchema),
});

export function adminOperations(deps: AdminDeps): AnyOperation[] {
  return [
    defineOperation({
      name: 'admin.reload', summary: 'Reload the configuration', scope: 'admin', mutates: true,
      description: 'Re-read tinytown.toml and the environment: API keys, scopes, expiry, OIDC settings, TLS certificate. A refused reload changes nothing',
      input: obj({}),
      output: record({ status: str({ enum: ['reloaded'] }), keys: int({ minimum: 0 }), warnings: arr(str()) }),
      errors: ['config.reload_failed'],
      run: async (ctx) => {
        const outcome = await deps.reload(`admin.reload by ${ctx.principal.id} over ${ctx.transport}`);
        if (!outcome.ok) throw new OpError('config.reload_failed', `The configuration was not reloaded: ${outcome.error}`);
        return { status: 'reloaded', keys: outcome.keys, warnings: outcome.warnings };
      },
    }),
    defineOperation({
      name: 'admin.list_keys', summary: 'List the API keys', scope: 'admin', mutates: false,
      description: 'Ids, effective scopes, expiry, disabled and last use of every configured API key; never hashes',
      input: obj({}),
      output: record({ keys: arr(keySchema), count: int({ minimum: 0 }) }),
      run: () => {
        const keys = deps.keys();
        return { keys, count: keys.length };
      },
    }),
  ];
}
