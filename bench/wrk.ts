// The load generator: wrk, driven by a Lua script generated per scenario
// (method, headers, body, or a rotating list of requests) whose `done` hook
// prints the summary as one JSON line, so nothing depends on wrk's text layout.
// wrk is a C program with one thread here (-t1): on a 2-core machine it leaves
// the other core to the server, where a Node load generator would run out of
// CPU first and flatter slow servers.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HttpRequestSpec {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** A slot in a list whose request the load's Lua `dynamic()` makes when its turn comes (see WrkLoad.luaExtra). */
  dynamic?: true;
}

export interface WrkLoad {
  /** One request repeated, or a list that each connection cycles through. */
  requests: HttpRequestSpec[];
  /** Raw Lua defining `request()`, instead of `requests` (e.g. a fresh credential per request). */
  luaRequest?: string;
  /** Lua added to a list's script: defines `dynamic()` for `dynamic` slots, and may define `response()`. */
  luaExtra?: string;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  reqPerSec: number;
  /** Latency percentiles in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers with status >= 400. */
  non2xx: number;
  socketErrors: number;
}

const WRK = process.env['BENCH_WRK'] ?? 'wrk';

/** wrk's version line, or null when it is not installed. */
export function wrkVersion(): string | null {
  const r = spawnSync(WRK, ['-v'], { encoding: 'utf8' });
  if (r.error !== undefined) return null;
  return `${r.stdout}${r.stderr}`.split('\n')[0]!.trim();
}

const scriptDir = mkdtempSync(join(tmpdir(), 'townhall-wrk-'));
process.on('exit', () => rmSync(scriptDir, { recursive: true, force: true }));
let scripts = 0;

const lua = (s: string): string => JSON.stringify(s); // a JSON string literal is a valid Lua string here (no \u escapes)

/** A Lua expression making one request's bytes; `pathLua` is a Lua expression for the path when it is computed. */
export function luaFormat(r: HttpRequestSpec, pathLua = lua(r.path)): string {
  return `wrk.format(${lua(r.method ?? 'GET')}, ${pathLua}, ${luaTable(r.headers)}, ${r.body === undefined ? 'nil' : lua(r.body)})`;
}

function luaTable(headers: Record<string, string> | undefined): string {
  return `{${Object.entries(headers ?? {})
    .map(([k, v]) => `[${lua(k)}]=${lua(v)}`)
    .join(',')}}`;
}

const DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,"p50":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;

export function luaScript(load: WrkLoad): string {
  if (load.luaRequest !== undefined) return `${load.luaRequest}\n${DONE}`;
  const only = load.requests.length === 1 ? load.requests[0]! : undefined;
  if (only !== undefined) {
    // No request() function: wrk then sends one prebuilt buffer, costing the generator least.
    const headers = Object.entries(only.headers ?? {}).map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}\n`);
    return `wrk.method = ${lua(only.method ?? 'GET')}\nwrk.path = ${lua(only.path)}\n${headers.join('')}${only.body === undefined ? '' : `wrk.body = ${lua(only.body)}\n`}${DONE}`;
  }
  const reqs = load.requests.map((r) => (r.dynamic === true ? 'false' : luaFormat(r)));
  return `local reqs = {}
init = function(args)
${reqs.map((r) => `  table.insert(reqs, ${r})`).join('\n')}
end
local i = 0
request = function()
  i = i % #reqs + 1
  return reqs[i] or dynamic()
end
${load.luaExtra ?? ''}
${DONE}`;
}

export interface WrkRun {
  port: number;
  load: WrkLoad;
  connections: number;
  seconds: number;
  timeoutSecs?: number;
  /** Ends the run early (wrk still reports what it measured). */
  signal?: AbortSignal;
}

export function runWrk(run: WrkRun): Promise<WrkResult> {
  const script = join(scriptDir, `s${scripts++}.lua`);
  writeFileSync(script, luaScript(run.load));
  const first = run.load.requests[0]?.path ?? '/';
  const args = ['-t1', `-c${run.connections}`, `-d${Math.max(1, Math.round(run.seconds))}s`, '--latency', `--timeout`, `${run.timeoutSecs ?? 5}s`, '-s', script, `http://127.0.0.1:${run.port}${first}`];
  return new Promise((resolve, reject) => {
    const child = spawn(WRK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const abort = (): void => void child.kill('SIGINT');
    run.signal?.addEventListener('abort', abort, { once: true });
    child.once('error', reject);
    child.once('close', () => {
      run.signal?.removeEventListener('abort', abort);
      const m = /BENCHJSON (\{.*\})/.exec(out);
      if (!m) return reject(new Error(`wrk printed no summary:\n${out.slice(-2000)}`));
      const j = JSON.parse(m[1]!) as { requests: number; duration_us: number; status_errors: number; socket_errors: number; p50: number; p99: number; max: number };
      const seconds = j.duration_us / 1e6;
      resolve({
        requests: j.requests,
        seconds,
        reqPerSec: j.requests / seconds,
        p50Ms: j.p50 / 1000,
        p99Ms: j.p99 / 1000,
        maxMs: j.max / 1000,
        non2xx: j.status_errors,
        socketErrors: j.socket_errors,
      });
    });
  });
}
