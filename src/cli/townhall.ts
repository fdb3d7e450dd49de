// `townhall`: parse flags, load the config, start the server, and stop it
// gracefully on SIGTERM/SIGINT. Start-up refusals print one line on stderr
// saying what is wrong and exit 1; bad usage exits 2.
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { ConfigError } from '../config/config.js';
import { loadConfig, type ConfigFlags } from '../config/load-config.js';
import { startTownhall } from '../main.js';
import { runMcpCommand } from './mcp-command.js';
import { VERSION } from '../version.js';

export const USAGE = `Usage: townhall [options]
       townhall mcp-stdio [--url URL] | mcp-http [-b IP] [-p PORT]   (see townhall mcp-stdio --help)

Serves the Townhall REST API for a Tinytown town.

Options:
  --config PATH   read this tinytown.toml
  --town DIR      read DIR/tinytown.toml
  --bind IP       address to listen on (default 127.0.0.1)
  --port N        port to listen on (default 8787; 0 picks a free port)
  --verbose       log debug messages
  --help          show this help
  --version       show the version

Without --config/--town, ./tinytown.toml is read if it exists.
SIGHUP re-reads the configuration (keys, OIDC settings, TLS certificate); SIGTERM stops.
Environment: TOWNHALL_BIND, TOWNHALL_PORT, TOWNHALL_AUTH_MODE, TOWNHALL_API_KEY_ID,
TOWNHALL_API_TOKEN_HASH, TOWNHALL_API_KEY_SCOPES, TOWNHALL_LOG_FORMAT.
`;

export async function runTownhall(argv: string[]): Promise<number> {
  if (argv[0] === 'mcp-stdio' || argv[0] === 'mcp-http') return runMcpCommand(argv[0], argv.slice(1), runTownhall);
  let values: ConfigFlags & { help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        town: { type: 'string' },
        bind: { type: 'string' },
        port: { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean' },
        version: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`townhall: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(`townhall ${VERSION}\n`);
    return 0;
  }
  if (values.config !== undefined && values.town !== undefined) {
    process.stderr.write(`townhall: give either --config or --town, not both\n\n${USAGE}`);
    return 2;
  }
  // Listen for signals before starting, so one that arrives during start-up
  // still ends in a graceful stop rather than the default abrupt exit.
  let stopRequested: string | null = null;
  let onStop: (signal: string) => void = (signal) => {
    stopRequested = signal;
  };
  // The audit log is stdout: if it cannot be written (EPIPE, ENOSPC), stop
  // rather than crash or go on serving mutations that leave no audit line.
  let auditFailed = false;
  const onAuditError = (err: NodeJS.ErrnoException): void => {
    if (auditFailed) return;
    auditFailed = true;
    process.stderr.write(`townhall: the audit log (stdout) cannot be written (${err.code ?? 'error'}); stopping\n`);
    onStop('audit log unwritable');
  };
  // SIGHUP reloads the configuration (it must not kill the server, as its default does).
  let onReload: () => void = () => undefined;
  const handlers = { SIGTERM: () => onStop('SIGTERM received'), SIGINT: () => onStop('SIGINT received'), SIGHUP: () => onReload() };
  process.once('SIGTERM', handlers.SIGTERM);
  process.once('SIGINT', handlers.SIGINT);
  process.on('SIGHUP', handlers.SIGHUP);
  process.stdout.on('error', onAuditError);
  try {
    const load = (): ReturnType<typeof loadConfig> => loadConfig({ flags: values, env: process.env, cwd: process.cwd() });
    const { config, warnings } = load();
    const townhall = await startTownhall(
      config,
      { audit: (line) => process.stdout.write(line), log: (line) => process.stderr.write(line), auditBacklog: () => process.stdout.writableLength },
      systemClock,
      warnings,
      { reloadConfig: load },
    );
    // The reloader logs the outcome, refused or applied.
    onReload = () => void townhall.reload('SIGHUP');
    await new Promise<void>((resolve) => {
      onStop = (signal) => {
        townhall.logger.info(`${signal}; finishing in-flight requests`);
        townhall.close().then(resolve, (err: unknown) => {
          townhall.logger.error('error while stopping', err);
          resolve();
        });
      };
      if (stopRequested !== null) onStop(stopRequested);
    });
    townhall.logger.info('stopped');
    return auditFailed ? 1 : 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof ConfigError || (err as Error).name === 'StoreOpenError') {
      process.stderr.write(`townhall: ${(err as Error).message}\n`);
    } else if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      process.stderr.write(`townhall: cannot listen (${code}); choose another --bind/--port\n`);
    } else {
      process.stderr.write(`townhall: failed to start: ${(err as Error).stack ?? String(err)}\n`);
    }
    return 1;
  } finally {
    process.off('SIGTERM', handlers.SIGTERM);
    process.off('SIGINT', handlers.SIGINT);
    process.off('SIGHUP', handlers.SIGHUP);
    process.stdout.off('error', onAuditError);
  }
}
