// `npm run bench`: measures Townhall against a bare node:http server in the
// same run, with the same load generator and concurrency, and prints ratios
// (these machines are noisy; absolute numbers mean little, ratios do).
//
// Targets: authenticated GET /v1/status >= 0.7x bare; durable POST /v1/backlog
// >= 0.5x non-durable; valid-key p99 stays low while wrong keys flood in.
import autocannon, { type Options, type Result } from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken } from '../src/auth/argon2-hash.js';

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

async function load(port: number, opts: Partial<Options> = {}): Promise<Result> {
  const url = `http://127.0.0.1:${port}${opts.url ?? '/'}`;
  // A short warm-up so JIT and caches (and the verified-key cache) are hot.
  await autocannon({ ...opts, url, connections: opts.connections ?? CONNECTIONS, duration: 1 });
  return autocannon({ ...opts, url, connections: opts.connections ?? CONNECTIONS, duration: SECONDS });
}

interface Row {
  name: string;
  result: Result;
}

function printTable(rows: Row[], baseline: Result): void {
  console.log(`\n${'scenario'.padEnd(44)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'non2xx'.padStart(7)} ${'vs bare'.padStart(8)}`);
  for (const { name, result } of rows) {
    const ratio = result.requests.average / baseline.requests.average;
    console.log(
      `${name.padEnd(44)} ${result.requests.average.toFixed(0).padStart(9)} ${String(result.latency.p50).padStart(7)} ${String(result.latency.p99).padStart(7)} ${String(result.non2xx).padStart(7)} ${ratio.toFixed(2).padStart(8)}`,
    );
  }
}

async function main(): Promise<void> {
  console.log(`townhall bench: ${SECONDS}s per scenario, ${CONNECTIONS} connections (BENCH_SECONDS, BENCH_CONNECTIONS)`);
  const token = randomBytes(32).toString('hex');
  const hash = await hashToken(token);
  const keyToml = `[townhall]\ntrust_proxy = true\n[townhall.auth]\nmode = "api_key"\nmax_failed_attempts_per_minute = 1000000\n[[townhall.auth.keys]]\nid = "bench"\nhash = "${hash}"\nscopes = ["admin"]\n`;
  const rows: Row[] = [];

  const bare = await startBare();
  const baseline = await load(bare.port);
  rows.push({ name: 'bare node:http GET /', result: baseline });
  await stop(bare);

  const open = await startTownhall('[townhall.store]\ndurability = "none"\n');
  rows.push({ name: 'townhall mode none GET /v1/status', result: await load(open.port, { url: '/v1/status' }) });
  await stop(open);

  const keyed = await startTownhall(`${keyToml}[townhall.store]\ndurability = "none"\n`);
  const bearer = { authorization: `Bearer ${token}` };
  const bearerResult = await load(keyed.port, { url: '/v1/status', headers: bearer });
  rows.push({ name: 'townhall api_key Bearer GET /v1/status', result: bearerResult });
  const basic = { authorization: `Basic ${Buffer.from(`bench:${token}`).toString('base64')}` };
  rows.push({ name: 'townhall api_key Basic GET /v1/status', result: await load(keyed.port, { url: '/v1/status', headers: basic }) });
  rows.push({ name: 'townhall api_key X-API-Key GET /v1/status', result: await load(keyed.port, { url: '/v1/status', headers: { 'x-api-key': token } }) });

  // A flood of distinct wrong keys from many (forwarded) addresses, so the
  // per-address limiter never blocks it and every one reaches the Argon2 gate.
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
  rows.push({ name: 'valid Bearer while wrong keys flood (16+16)', result: underFlood });
  rows.push({ name: 'the wrong-key flood itself (401/503)', result: floodResult });
  await stop(keyed);

  const body = JSON.stringify({ description: 'bench task', tags: ['bench'] });
  const post = { url: '/v1/backlog', method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: 64 };
  const none = await startTownhall('[townhall.store]\ndurability = "none"\n');
  const noneResult = await load(none.port, post);
  rows.push({ name: 'POST /v1/backlog durability none (64 conns)', result: noneResult });
  await stop(none);
  const always = await startTownhall('[townhall.store]\ndurability = "always"\n');
  const alwaysResult = await load(always.port, post);
  rows.push({ name: 'POST /v1/backlog durability always (64 conns)', result: alwaysResult });
  await stop(always);

  printTable(rows, baseline);
  const authRatio = bearerResult.requests.average / baseline.requests.average;
  const durableRatio = alwaysResult.requests.average / noneResult.requests.average;
  console.log(`\nauthenticated Bearer / bare:      ${authRatio.toFixed(2)} (target >= 0.70) ${authRatio >= 0.7 ? 'MET' : 'MISSED'}`);
  console.log(`durable / non-durable writes:     ${durableRatio.toFixed(2)} (target >= 0.50) ${durableRatio >= 0.5 ? 'MET' : 'MISSED'}`);
  console.log(`valid-key p99 alone / under flood: ${bearerResult.latency.p99} ms / ${underFlood.latency.p99} ms (flood non2xx: ${floodResult.non2xx})`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
