// `npm run bench`: measures Townhall against a bare node:http server in the
// same run, with the same load generator and concurrency, and prints ratios
// (these machines are noisy; absolute numbers mean little, ratios do).
//
// Targets: authenticated GET /v1/status >= 0.7x bare; durable POST /v1/backlog
// >= 0.5x non-durable; valid-key p99 stays low while wrong keys flood in.
import autocannon, { type Options, type Result } from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken } from '../src/auth/argon2-hash.js';
import { runRedisBench } from './redis-bench.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const ROOT = new URL('../../', import.meta.url).pathname;

interface Server {
  port: number;
  child: ChildProcess;
  dir?: string;
}

function waitForPort(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${seen}`)), 15_000);
    child[stream]!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = pattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${seen}`)));
  });
}

async function startBare(): Promise<Server> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/bench/bare-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, port: await waitForPort(child, 'stdout', /port (\d+)/) };
}

async function startTownhall(toml: string): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-bench-'));
  await writeFile(join(dir, 'tinytown.toml'), `name = "bench"\n${toml}`);
  const child = spawn(process.execPath, [join(ROOT, 'bin/townhall.js'), '--town', dir, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOWNHALL_'))),
  });
  return { child, dir, port: await waitForPort(child, 'stderr', /listening on http:\/\/127\.0\.0\.1:(\d+)/) };
}

async function stop(server: Server): Promise<void> {
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  await exited;
  if (server.dir !== undefined) await rm(server.dir, { recursive: true, force: true });
}

/** CPU seconds a process has used (user + system), from /proc; NaN where there is none. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks at USER_HZ = 100
  } catch {
    return NaN;
  }
}

type Measured = Result & { cpuMicrosPerRequest: number };

async function load(port: number, opts: Partial<Options> = {}, pid?: number): Promise<Measured> {
  const url = `http://127.0.0.1:${port}${opts.url ?? '/'}`;
  // A short warm-up so JIT and caches (and the verified-key cache) are hot.
  await autocannon({ ...opts, url, connections: opts.connections ?? CONNECTIONS, duration: 1 });
  const before = cpuSeconds(pid);
  const result = await autocannon({ ...opts, url, connections: opts.connections ?? CONNECTIONS, duration: SECONDS });
  // Server CPU per request: steadier than req/s on a shared machine, since it
  // does not depend on how much of the other core the load generator got.
  return { ...result, cpuMicrosPerRequest: ((cpuSeconds(pid) - before) * 1e6) / result.requests.total };
}

interface Scenario {
  name: string;
  port: number;
  pid?: number | undefined;
  opts: Partial<Options>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Runs the scenarios in interleaved rounds (bare, A, B, bare, A, B, ...) so
 * drift in a noisy machine hits all of them alike; each scenario's ratio to
 * bare is the median of its per-round ratios.
 */
async function rounds(scenarios: Scenario[], count: number): Promise<Row[]> {
  const results = scenarios.map(() => [] as Measured[]);
  for (let r = 0; r < count; r++) {
    for (const [i, sc] of scenarios.entries()) results[i]!.push(await load(sc.port, sc.opts, sc.pid));
  }
  return scenarios.map((sc, i) => {
    const mine = results[i]!;
    const ratios = mine.map((res, r) => res.requests.average / results[0]![r]!.requests.average);
    const pick = mine.find((res) => res.requests.average === median(mine.map((x) => x.requests.average)))!;
    return { name: sc.name, result: pick, ratio: median(ratios), cpu: median(mine.map((x) => x.cpuMicrosPerRequest)) };
  });
}

interface Row {
  name: string;
  result: Result;
  ratio?: number;
  /** Median server CPU microseconds per request. */
  cpu?: number;
}

function printRows(rows: Row[]): void {
  console.log(`\n${'scenario'.padEnd(46)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'non2xx'.padStart(7)} ${'ratio'.padStart(6)} ${'cpu us/req'.padStart(11)}`);
  for (const { name, result, ratio, cpu } of rows) {
    console.log(
      `${name.padEnd(46)} ${result.requests.average.toFixed(0).padStart(9)} ${String(result.latency.p50).padStart(7)} ${String(result.latency.p99).padStart(7)} ${String(result.non2xx).padStart(7)} ${ratio === undefined ? ''.padStart(6) : ratio.toFixed(2).padStart(6)} ${cpu === undefined ? '' : cpu.toFixed(1).padStart(11)}`,
    );
  }
}

async function main(): Promise<void> {
  const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
  console.log(`townhall bench: ${ROUNDS} interleaved rounds of ${SECONDS}s per scenario, ${CONNECTIONS} connections (BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS)`);
  const token = randomBytes(32).toString('hex');
  const hash = await hashToken(token);
  const keyToml = `[townhall]\ntrust_proxy = true\n[townhall.auth]\nmode = "api_key"\nmax_failed_attempts_per_minute = 1000000\n[[townhall.auth.keys]]\nid = "bench"\nhash = "${hash}"\nscopes = ["admin"]\n`;
  const bearer = { authorization: `Bearer ${token}` };

  // 1. Reads: bare node:http against Townhall, same JSON, same load generator.
  const bare = await startBare();
  const open = await startTownhall('[townhall.store]\ndurability = "none"\n');
  const keyed = await startTownhall(`${keyToml}[townhall.store]\ndurability = "none"\n`);
  const status = { url: '/v1/status' };
  const reads = await rounds(
    [
      { name: 'bare node:http (same JSON as /v1/status)', port: bare.port, pid: bare.child.pid, opts: {} },
      { name: 'townhall mode none GET /v1/status', port: open.port, pid: open.child.pid, opts: status },
      { name: 'townhall Bearer GET /v1/status', port: keyed.port, pid: keyed.child.pid, opts: { ...status, headers: bearer } },
      { name: 'townhall Basic GET /v1/status', port: keyed.port, pid: keyed.child.pid, opts: { ...status, headers: { authorization: `Basic ${Buffer.from(`bench:${token}`).toString('base64')}` } } },
      { name: 'townhall X-API-Key GET /v1/status', port: keyed.port, pid: keyed.child.pid, opts: { ...status, headers: { 'x-api-key': token } } },
    ],
    ROUNDS,
  );
  await stop(bare);
  await stop(open);
  printRows(reads);

  // 2. Valid keys while distinct wrong keys flood in from many (forwarded)
  // addresses, so the per-address limiter never blocks them and every one
  // reaches the Argon2 gate.
  let n = 0;
  const flood = autocannon({
    url: `http://127.0.0.1:${keyed.port}/v1/status`,
    connections: 16,
    duration: SECONDS + 1,
    requests: [
      {
        setupRequest: (req) => {
          n++;
          return { ...req, headers: { authorization: `Bearer wrong-${n}-${randomBytes(8).toString('hex')}`, 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` } };
        },
      },
    ],
  });
  await new Promise((r) => setTimeout(r, 500));
  const underFlood = await autocannon({ url: `http://127.0.0.1:${keyed.port}/v1/status`, connections: 16, duration: SECONDS, headers: bearer });
  const floodResult = await flood;
  const alone = await autocannon({ url: `http://127.0.0.1:${keyed.port}/v1/status`, connections: 16, duration: SECONDS, headers: bearer });
  await stop(keyed);
  printRows([
    { name: 'valid Bearer alone (16 conns)', result: alone },
    { name: 'valid Bearer while wrong keys flood (16+16)', result: underFlood },
    { name: 'the wrong-key flood itself (401/503)', result: floodResult },
  ]);

  // 3. Durable against non-durable writes.
  const body = JSON.stringify({ description: 'bench task', tags: ['bench'] });
  const post = { url: '/v1/backlog', method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: 64 };
  const none = await startTownhall('[townhall.store]\ndurability = "none"\n');
  const always = await startTownhall('[townhall.store]\ndurability = "always"\n');
  const writes = await rounds(
    [
      { name: 'POST /v1/backlog durability none (64 conns)', port: none.port, pid: none.child.pid, opts: post },
      { name: 'POST /v1/backlog durability always (64 conns)', port: always.port, pid: always.child.pid, opts: post },
    ],
    ROUNDS,
  );
  await stop(none);
  await stop(always);
  printRows(writes);

  const authRatio = reads[2]!.ratio!;
  const durableRatio = writes[1]!.ratio!;
  const costRatio = reads[0]!.cpu! / reads[2]!.cpu!;
  console.log(`\nauthenticated Bearer / bare:        ${authRatio.toFixed(2)} (target >= 0.70) ${authRatio >= 0.7 ? 'MET' : 'MISSED'}`);
  console.log(`  same, by server CPU per request:  ${costRatio.toFixed(2)} (bare ${reads[0]!.cpu!.toFixed(1)} us, Bearer ${reads[2]!.cpu!.toFixed(1)} us)`);
  console.log(`durable / non-durable writes:       ${durableRatio.toFixed(2)} (target >= 0.50) ${durableRatio >= 0.5 ? 'MET' : 'MISSED'}`);
  console.log(`valid-key p99 alone / under flood:  ${alone.latency.p99} ms / ${underFlood.latency.p99} ms (flood answered ${floodResult.requests.total}, non2xx ${floodResult.non2xx})`);

  // 4. The Redis store: several replicas serving one town.
  await runRedisBench();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
