// Tinytown's MCP command forms:
//   townhall mcp-stdio [--url URL] [--config PATH | --town DIR] [--verbose]
//     with --url: relay stdio to URL's /mcp with the key in TOWNHALL_API_KEY;
//     without: open the town's store here as its local owner (exit 1 with a
//     hint to use --url when a server holds it).
//   townhall mcp-http [-b IP] [-p PORT] [--config PATH | --town DIR]
//     runs the server: MCP is served at /mcp of the REST server (same port,
//     TLS and keys), not on a port of its own as in Tinytown.
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { ConfigError } from '../config/config.js';
import { loadConfig } from '../config/load-config.js';
import { StoreLockedError, serveLocalMcp } from '../mcp-local.js';
import { bridgeStdio } from '../mcp/stdio-bridge.js';

export const MCP_USAGE = `Usage:
  townhall mcp-stdio [--url URL] [--config PATH | --town DIR] [--verbose]
  townhall mcp-http [-b IP] [-p PORT] [--config PATH | --town DIR] [--verbose]

mcp-stdio serves MCP on stdin/stdout. With --url it relays to a running
Townhall's /mcp (URL like http://127.0.0.1:8787) using the API key in
TOWNHALL_API_KEY; without it, it opens the town's store itself as the local
owner (not possible while a server holds the store: use --url then).
mcp-http runs the server; MCP is at /mcp of the REST API, with the same keys.
`;

const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

function mcpUrl(raw: string): URL {
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('--url must be an http or https URL');
  if (!url.pathname.endsWith('/mcp')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/mcp`;
  return url;
}

async function mcpStdio(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { url: { type: 'string' }, config: { type: 'string' }, town: { type: 'string' }, verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) {
    process.stdout.write(MCP_USAGE);
    return 0;
  }
  if (values.url !== undefined) {
    const key = process.env['TOWNHALL_API_KEY'];
    if (key === undefined || key === '') process.stderr.write('townhall mcp-stdio: TOWNHALL_API_KEY is not set; requests go without a key\n');
    await bridgeStdio({ url: mcpUrl(values.url), key: key === '' ? undefined : key, input: process.stdin, output: process.stdout, log: (l) => process.stderr.write(`${l}\n`), maxMessageBytes: MAX_MESSAGE_BYTES });
    return 0;
  }
  const { config } = loadConfig({ flags: { ...(values.config === undefined ? {} : { config: values.config }), ...(values.town === undefined ? {} : { town: values.town }), ...(values.verbose === true ? { verbose: true } : {}) }, env: process.env, cwd: process.cwd() });
  const stop = new AbortController();
  const onSignal = (): void => {
    stop.abort();
    process.stdin.destroy();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await serveLocalMcp(config, { input: process.stdin, output: process.stdout, audit: (l) => process.stderr.write(l), log: (l) => process.stderr.write(l), stop: stop.signal }, systemClock);
    return 0;
  } catch (err) {
    if (err instanceof StoreLockedError) {
      process.stderr.write(`townhall mcp-stdio: a running server holds the town's store (${err.message}); use --url http://HOST:PORT to talk to it\n`);
      return 1;
    }
    throw err;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** Runs `mcp-stdio` or `mcp-http`; `runServer` is `townhall` itself (for mcp-http). */
export async function runMcpCommand(command: 'mcp-stdio' | 'mcp-http', argv: string[], runServer: (argv: string[]) => Promise<number>): Promise<number> {
  try {
    if (command === 'mcp-stdio') return await mcpStdio(argv);
    const { values } = parseArgs({
      args: argv,
      options: { bind: { type: 'string', short: 'b' }, port: { type: 'string', short: 'p' }, config: { type: 'string' }, town: { type: 'string' }, verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help === true) {
      process.stdout.write(MCP_USAGE);
      return 0;
    }
    process.stderr.write('townhall mcp-http: MCP is served at /mcp of the REST server (same port, TLS and keys)\n');
    const forward = Object.entries(values).flatMap(([k, v]) => (v === true ? [`--${k}`] : typeof v === 'string' ? [`--${k}`, v] : []));
    return await runServer(forward);
  } catch (err) {
    if (err instanceof ConfigError || (err as Error).name === 'StoreOpenError') {
      process.stderr.write(`townhall ${command}: ${(err as Error).message}\n`);
      return 1;
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true || err instanceof TypeError) {
      process.stderr.write(`townhall ${command}: ${(err as Error).message}\n\n${MCP_USAGE}`);
      return 2;
    }
    process.stderr.write(`townhall ${command}: failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
