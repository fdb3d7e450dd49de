// `townhall`: parse flags, load the config, start the server, and stop it
// gracefully on SIGTERM/SIGINT. Start-up refusals print one line on stderr
// saying what is wrong and exit 1; bad usage exits 2.
//
// Tinytown's command forms work too: `townhall [global flags] rest [-b IP]
// [-p N]` is the server (as no command is); the MCP commands are entries in
// the SUBCOMMANDS table below (src/cli/mcp-command.ts).
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { ConfigError } from '../config/config.js';
import { loadConfig, type ConfigFlags } from '../config/load-config.js';
import { startTownhall } from '../main.js';
import { flushOnLastWords, type LastWords } from './last-words.js';
import { runMcpCommand } from './mcp-command.js';
import { runStoreCommand } from './store-command.js';
import { pinTickObjectShapes } from '../v8-shapes.js';
import { VERSION } from '../version.js';

export const USAGE = `Usage: townhall [options] [rest [options]]
       townhall mcp-stdio [--url URL] | mcp-http [-b IP] [-p PORT]   (see townhall mcp-stdio --help)

Serves the Townhall REST API for a Tinytown town (also: townhall rest).

Options:
  --config PATH      read this tinytown.toml
  -t, --town DIR     read DIR/tinytown.toml
  -b, --bind IP      address to listen on (default 127.0.0.1)
  -p, --port N       port to listen on (default 8787; 0 picks a free port)
  -v, --verbose      log debug messages
  -h, --help         show this help
  -V, --version      show the version

Commands:
  rest               the REST server (the default)
  mcp-stdio          MCP over stdio (see townhall mcp-stdio --help)
  mcp-http           the server; MCP is at /mcp of the REST API

Without --config/--town, ./tinytown.toml is read if it exists.
SIGHUP re-reads the configuration (keys, OIDC settings, TLS certificate); SIGTERM stops.
\`townhall store export|import\` moves a town between stores (see \`townhall store --help\`).
Environment: TOWNHALL_BIND, TOWNHALL_PORT, TOWNHALL_AUTH_MODE, TOWNHALL_API_KEY_ID,
TOWNHALL_API_TOKEN_HASH, TOWNHALL_API_KEY_SCOPES, TOWNHALL_LOG_FORMAT, TOWNHALL_REDIS_URL;
Tinytown's TINYTOWN_TOWN_NAME, TINYTOWN_REST_BIND, TINYTOWN_REST_PORT (below TOWNHALL_*);
Buttercup's BUTTERCUP_TASK_SERVER_API_KEY_ID, _API_TOKEN_HASH, _HOST, _PORT (as TOWNHALL_*).
`;

const GLOBAL_LONG: Readonly<Record<string, string>> = { '-t': '--town', '-v': '--verbose' };

/** Flags that take a value: the word after them is not a command. */
const VALUE_FLAGS: ReadonlySet<string> = new Set(['--config', '--town', '-t', '--bind', '-b', '--port', '-p']);

/** Tinytown's commands. A new transport adds its line here. */
export const SUBCOMMANDS: Readonly<Record<string, (argv: string[]) => Promise<number>>> = {
  rest: (argv) => runRest(argv),
  'mcp-stdio': (argv) => runMcpCommand('mcp-stdio', argv, runTownhall),
  'mcp-http': (argv) => runMcpCommand('mcp-http', argv, runTownhall),
  store: (argv) => {
    const write = (stream: NodeJS.WriteStream) => (text: string) => void stream.write(text);
    return runStoreCommand(argv, { stdin: process.stdin, stdout: write(process.stdout), stderr: write(process.stderr), env: process.env, cwd: process.cwd() });
  },
};

/** Finds the command word (global flags may come before it) and runs it; no command means `rest`. */
export async function runTownhall(argv: string[]): Promise<number> {
  // Before the first request: an idle process must not come back slower (v8-shapes.ts).
  pinTickObjectShapes();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (VALUE_FLAGS.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    const command = Object.hasOwn(SUBCOMMANDS, arg) ? SUBCOMMANDS[arg] : undefined;
    if (command === undefined) {
      process.stderr.write(`townhall: unknown command "${arg}"; commands: ${Object.keys(SUBCOMMANDS).join(', ')}\n\n${USAGE}`);
      return 2;
    }
    // Global flags before the command reach it in long form (the MCP commands know only those).
    const globals = argv.slice(0, i).map((a) => GLOBAL_LONG[a] ?? a);
    return command([...globals, ...argv.slice(i + 1)]);
  }
  return runRest(argv);
}

async function runRest(argv: string[]): Promise<number> {
  let values: ConfigFlags & { help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        town: { type: 'string', short: 't' },
        bind: { type: 'string', short: 'b' },
        port: { type: 'string', short: 'p' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
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
  let lastWords: LastWords | null = null;
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
    // Audit lines still batched when the process dies go out first.
    const words = (lastWords = flushOnLastWords(() => townhall.flushAudit()));
    // The reloader logs the outcome, refused or applied.
    onReload = () => void townhall.reload('SIGHUP');
    await new Promise<void>((resolve) => {
      onStop = (signal) => {
        words.armForcedStop();
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
    lastWords?.dispose();
    process.off('SIGTERM', handlers.SIGTERM);
    process.off('SIGINT', handlers.SIGINT);
    process.off('SIGHUP', handlers.SIGHUP);
    process.stdout.off('error', onAuditError);
  }
}
