// Starts a real Townhall on 127.0.0.1:0 from a tinytown.toml written to a temp
// directory, capturing audit and server log lines, and speaks raw HTTP to it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readResponse } from './read-response.js';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../src/clock.js';
import type { FetchJson } from '../../src/auth/jwks-source.js';
import { loadConfig } from '../../src/config/load-config.js';
import { startTownhall, type Townhall } from '../../src/main.js';

export const TINYTOWN_KEY = '3f9a1c2e7b8d4f6a0c5e9b1d3a7f2c4e8b6d0a9f1e3c5b7d9f2a4c6e8b0d1f3a';
export const TINYTOWN_HASH = '$argon2id$v=19$m=19456,t=2,p=1$xiJp23vp95Pk0dHymo8PTg$lKsmTa1NyjSlgxY275HVu1Auh/7LdwjbkYo6ii/Lr8E';
export const BUTTERCUP_TOKEN = 'kQ7vN2xPz9LmR4tYb8WcE3hJ6sDfG1aU';
export const BUTTERCUP_HASH = '$argon2id$v=19$m=65536,t=3,p=4$Si1olb9wP0mnaab47y+2lQ$Lhb3XPqy3ZXx1R1SYwYAt77wX19K7dr9WTNo8w/I0UE';

export interface TestKey {
  id: string;
  hash: string;
  scopes: readonly string[];
}

/** `[townhall.auth]` in mode api_key with these keys; the limiter is loose so tests can fail on purpose. */
export function apiKeysToml(keys: readonly TestKey[]): string {
  const blocks = keys.map((k) => `[[townhall.auth.keys]]\nid = "${k.id}"\nhash = "${k.hash}"\nscopes = ${JSON.stringify(k.scopes)}\n`);
  return `[townhall.auth]\nmode = "api_key"\nmax_failed_attempts_per_minute = 1000\n${blocks.join('')}`;
}

export interface TestServer {
  port: number;
  dir: string;
  audit: string[];
  logs: string[];
  townhall: Townhall;
  request(method: string, path: string, opts?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** An object is sent as JSON with Content-Type application/json; a string/Buffer as is. */
  body?: unknown;
}

export interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

export interface StartOptions {
  /** tinytown.toml contents; `[townhall.store] durability = "none"` is added unless a [townhall.store] table is given. */
  toml?: string;
  env?: Record<string, string>;
  clock?: Clock;
  /** As the --verbose flag. */
  verbose?: boolean;
  /** Bytes the audit sink has not written yet (stdout's writableLength in production). */
  auditBacklog?: () => number;
  /** How OIDC fetches discovery/JWKS documents (default: fetch over loopback). */
  fetchJson?: FetchJson;
}

export function sendRequest(port: number, method: string, path: string, opts: RequestOptions = {}): Promise<TestResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  let payload: Buffer | undefined;
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) payload = Buffer.from(opts.body as string);
    else {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['content-type'] ??= 'application/json';
    }
    headers['content-length'] ??= String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      readResponse(res).then(resolve, reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export async function startTestServer(opts: StartOptions = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-test-'));
  let toml = opts.toml ?? '';
  if (!/\[townhall\.store\]/.test(toml)) toml += '\n[townhall.store]\ndurability = "none"\n';
  await writeFile(join(dir, 'tinytown.toml'), toml);
  // Reloads read the same file and environment again, as SIGHUP does.
  const load = (port: string): ReturnType<typeof loadConfig> =>
    loadConfig({ flags: { town: dir, ...(opts.verbose === true ? { verbose: true } : {}) }, env: { TOWNHALL_PORT: port, ...opts.env }, cwd: dir });
  const { config, warnings } = load('0');
  const audit: string[] = [];
  const logs: string[] = [];
  const townhall = await startTownhall(
    config,
    { audit: (chunk) => audit.push(...chunk.split('\n').filter((l) => l !== '')), log: (l) => logs.push(l.trimEnd()), ...(opts.auditBacklog === undefined ? {} : { auditBacklog: opts.auditBacklog }) },
    opts.clock ?? systemClock,
    warnings,
    {
      reloadConfig: () => load('0'),
      ...(opts.fetchJson === undefined ? {} : { fetchJson: opts.fetchJson }),
    },
  );
  return {
    port: townhall.port,
    dir,
    audit,
    logs,
    townhall,
    request: (method, path, ro) => sendRequest(townhall.port, method, path, ro),
    async close() {
      await townhall.close(2000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Parses a text-format audit line into its fields (values JSON-unescaped). */
export function parseAuditLine(line: string): Record<string, string> {
  const m = /^(\S+) (INFO|WARN) audit: (operation \w+(?: out)?|denials suppressed) (.*)$/.exec(line);
  if (!m) throw new Error(`not an audit line: ${line}`);
  const fields: Record<string, string> = { time: m[1]!, level: m[2]!, msg: m[3]! };
  const re = /(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g;
  for (let f = re.exec(m[4]!); f !== null; f = re.exec(m[4]!)) {
    fields[f[1]!] = f[2]!.startsWith('"') ? (JSON.parse(f[2]!) as string) : f[2]!;
  }
  return fields;
}
