// Reload without downtime (SIGHUP, POST /v1/admin/reload): re-read
// tinytown.toml and the environment, check everything, then switch in one
// step: the TLS certificate/key/CA for new handshakes (open connections keep
// theirs) and a freshly built verifier chain (so the verified-key cache starts
// empty and a removed or disabled key stops working at once).
//
// A reload that fails validation, or that changes a setting only a restart can
// apply (the address, the store, TLS on/off...), changes nothing and says why,
// in its answer and in the log. Reloads run one at a time.
import type { Authenticator } from '../auth/authenticate.js';
import type { ServerLogger } from '../audit/server-logger.js';
import { ConfigError, type Config } from '../config/config.js';
import type { LoadedConfig } from '../config/load-config.js';

export type ReloadOutcome = { ok: true; keys: number; warnings: string[] } | { ok: false; error: string };

export interface ReloaderDeps {
  initial: Config;
  /** Re-reads the file and the environment; null when Townhall was started without one (tests). */
  load: (() => LoadedConfig) | null;
  build(config: Config): Promise<Authenticator>;
  /** Puts the new TLS material and authenticator in place; must not fail after validation. */
  install(config: Config, authenticator: Authenticator): void;
  logger: ServerLogger;
}

export interface Reloader {
  current(): Config;
  reload(trigger: string): Promise<ReloadOutcome>;
}

/** Settings a running server cannot change: a reload that changes one is refused, naming it. */
const RESTART_ONLY: ReadonlyArray<readonly [string, (c: Config) => unknown]> = [
  ['[townhall] bind', (c) => c.bind],
  ['[townhall] port', (c) => c.port],
  ['[townhall] request_timeout_ms', (c) => c.requestTimeoutMs],
  ['[townhall] max_body_bytes', (c) => c.maxBodyBytes],
  ['[townhall] trust_proxy', (c) => c.trustProxy.join(',')],
  ['[townhall.auth] mode', (c) => c.auth.mode],
  ['[townhall.auth] max_failed_attempts_per_minute', (c) => c.auth.maxFailedAttemptsPerMinute],
  ['[townhall.auth] argon2_max_concurrency', (c) => c.auth.argon2MaxConcurrency],
  ['[townhall.auth] argon2_max_queue', (c) => c.auth.argon2MaxQueue],
  ['[townhall.tls] enabled', (c) => c.tls !== null],
  ['[townhall.mtls] enabled', (c) => c.mtls !== null],
  ['[townhall.mtls] required', (c) => c.mtls?.required ?? false],
  ['[townhall.log] format', (c) => c.log.format],
  ['[townhall.store]', (c) => JSON.stringify(c.store)],
  ['the town settings (name, default_cli, max_agents, heartbeat_timeout_secs)', (c) => JSON.stringify(c.town)],
];

export function restartOnlyChanges(before: Config, after: Config): string[] {
  return RESTART_ONLY.filter(([, get]) => get(before) !== get(after)).map(([name]) => name);
}

export function createReloader(deps: ReloaderDeps): Reloader {
  let config = deps.initial;
  let queue: Promise<unknown> = Promise.resolve();

  function refuse(trigger: string, error: string): ReloadOutcome {
    deps.logger.error(`reload (${trigger}) refused, the running configuration is unchanged: ${error}`);
    return { ok: false, error };
  }

  async function reload(trigger: string): Promise<ReloadOutcome> {
    if (deps.load === null) return refuse(trigger, 'this server was started without a configuration source to re-read');
    let loaded: LoadedConfig;
    try {
      loaded = deps.load();
    } catch (err) {
      if (err instanceof ConfigError) return refuse(trigger, err.message);
      throw err;
    }
    const next = loaded.config;
    const changed = restartOnlyChanges(config, next);
    if (changed.length > 0) return refuse(trigger, `${changed.join(', ')} changed; restart Townhall to apply that`);
    const authenticator = await deps.build(next);
    deps.install(next, authenticator);
    config = next;
    for (const w of loaded.warnings) deps.logger.warn(w);
    deps.logger.info(`reloaded the configuration (${trigger}): auth mode ${next.auth.mode}, ${next.auth.keys.length} key(s)${next.tls === null ? '' : ', TLS certificate ' + next.tls.certPath}`);
    return { ok: true, keys: next.auth.keys.length, warnings: loaded.warnings };
  }

  return {
    current: () => config,
    reload(trigger) {
      // One at a time: a second request waits for the first, then reads the file again.
      const run = queue.then(() => reload(trigger)).catch((err: unknown): ReloadOutcome => {
        deps.logger.error(`reload (${trigger}) failed unexpectedly; the running configuration is unchanged`, err);
        return { ok: false, error: 'an unexpected error occurred; see the server log' };
      });
      queue = run;
      return run;
    },
  };
}
