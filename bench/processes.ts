// Starting and measuring the server processes a benchmark talks to: Townhall
// (from this checkout or another one, for --compare) and the bare node:http
// baselines. Every server runs as its own process with the same Node/V8 flags
// (BENCH_NODE_FLAGS), so the load generator and the bench itself never share
// the server's CPU accounting: CPU per request comes from /proc/<pid>/stat.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The root of this checkout (dist/bench/ is two levels down). */
export const ROOT = resolve(new URL('../../', import.meta.url).pathname);

/** Extra node flags given to every server process alike (Townhall and bare). */
export const NODE_FLAGS: readonly string[] = (process.env['BENCH_NODE_FLAGS'] ?? '').split(/\s+/).filter((f) => f !== '');

export interface ServerProcess {
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The town directory (Townhall only); removed on stop. */
  readonly dir?: string;
  /** Milliseconds from spawn to the "listening" line. */
  readonly startupMs: number;
  /** stderr lines seen so far that match `compacted` (Townhall's compaction log). */
  compactions(): string[];
  /** The last lines the server wrote on stderr, and how it exited (for error messages). */
  lastWords(): string;
}

function waitForPort(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs: number, onLine?: (line: string) => void): Promise<number> {
  return new Promise((resolvePort, reject) => {
    let seen = '';
    let found = false;
    const timer = setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms: ${seen.slice(-2000)}`)), timeoutMs);
    child[stream]!.setEncoding('utf8');
    child[stream]!.on('data', (chunk: string) => {
      if (!found) {
        seen += chunk;
        const m = pattern.exec(seen);
        if (m) {
          found = true;
          clearTimeout(timer);
          resolvePort(Number(m[1]));
        }
      }
      if (onLine) for (const line of chunk.split('\n')) if (line !== '') onLine(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`server exited with ${code}: ${seen.slice(-2000)}`));
    });
  });
}

/** What the bare baseline imitates: Townhall's real answers (see bench/bare-server.ts). */
export interface BareTemplate {
  status: unknown;
  health: unknown;
  requestIds: 'uuid' | 'counter';
}

/** A bare node:http baseline (bench/bare-server.ts) answering like `template`. */
export async function startBare(template: BareTemplate): Promise<ServerProcess> {
  const started = performance.now();
  const child = spawn(process.execPath, [...NODE_FLAGS, join(ROOT, 'dist/bench/bare-server.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BARE_STATUS_JSON: JSON.stringify(template.status), BARE_HEALTH_JSON: JSON.stringify(template.health), BARE_REQUEST_IDS: template.requestIds },
  });
  const port = await waitForPort(child, 'stdout', /port (\d+)/, 15_000);
  return { port, pid: child.pid!, child, startupMs: performance.now() - started, compactions: () => [], lastWords: () => '' };
}

export interface TownhallOptions {
  /** Checkout whose bin/townhall.js to run (default: this one). */
  root?: string;
  /** tinytown.toml content after `name = "bench"`. */
  toml: string;
  /** Use this town directory (already seeded) instead of a fresh temporary one. */
  dir?: string;
  startTimeoutMs?: number;
}

export async function startTownhall(options: TownhallOptions): Promise<ServerProcess> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'townhall-bench-')));
  await writeFile(join(dir, 'tinytown.toml'), `name = "bench"\n${options.toml}`);
  const compacted: string[] = [];
  const tail: string[] = [];
  const started = performance.now();
  const child = spawn(process.execPath, [...NODE_FLAGS, join(options.root ?? ROOT, 'bin/townhall.js'), '--town', dir, '--port', '0'], {
    // stdout is the audit log: discarded, as a production pipe would absorb it.
    stdio: ['ignore', 'ignore', 'pipe'],
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOWNHALL_'))),
  });
  const port = await waitForPort(child, 'stderr', /listening on http:\/\/127\.0\.0\.1:(\d+)/, options.startTimeoutMs ?? 15_000, (line) => {
    if (line.includes('compacted')) compacted.push(line);
    tail.push(line);
    if (tail.length > 20) tail.shift();
  });
  const lastWords = (): string =>
    `${tail.join('\n')}${child.exitCode !== null || child.signalCode !== null ? `\n(exited: code ${child.exitCode}, signal ${child.signalCode})` : ''}`;
  return { port, pid: child.pid!, child, dir, startupMs: performance.now() - started, compactions: () => compacted, lastWords };
}

export async function stopServer(server: ServerProcess, keepDir = false): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) {
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGTERM');
    await exited;
  }
  if (server.dir !== undefined && !keepDir) await rm(server.dir, { recursive: true, force: true });
}

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds a process has used (user + system, all threads), from /proc; NaN where there is none. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Resident set size in bytes, from /proc; NaN where there is none. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}
