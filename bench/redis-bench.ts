// The Redis store's benchmarks (part of `npm run bench`, or alone with
// `npm run bench:redis`), all in one run against one redis-server started
// here (AOF on, appendfsync always, in a temporary directory):
//
//   1. POST /v1/backlog at 64 connections: journal (durability always) vs
//      Redis with one replica vs three replicas (connections spread evenly);
//   2. GET /v1/status and GET /v1/agents with one and with three replicas;
//   3. claims per second with three replicas contending for the same items,
//      and the store's retry rate (lost races / commits, from each replica's
//      closing log line).
//
// Figures are req/s sums over the replicas; the machine is shared, so compare
// rows of the same run only.
import autocannon, { type Options, type Result } from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisSkipReason, startTestRedis, type TestRedis } from '../test/helpers/redis-server.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const ROOT = new URL('../../', import.meta.url).pathname;

interface Replica {
  port: number;
  child: ChildProcess;
  dir: string;
  stderr: string[];
}

async function startReplica(toml: string): Promise<Replica> {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-rbench-'));
  await writeFile(join(dir, 'tinytown.toml'), toml);
  const child = spawn(process.execPath, [join(ROOT, 'bin/townhall.js'), '--town', dir, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOWNHALL_'))),
  });
  const stderr: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start: ${stderr.join('')}`)), 15_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr.push(chunk);
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return { port, child, dir, stderr };
}

async function stopReplica(r: Replica): Promise<void> {
  const exited = new Promise((resolve) => r.child.once('exit', resolve));
  r.child.kill('SIGTERM');
  await exited;
  await rm(r.dir, { recursive: true, force: true });
}

/** Load spread evenly over `replicas` at once; req/s summed, latency of the worst. */
async function spread(replicas: Replica[], connections: number, opts: Partial<Options>, seconds = SECONDS): Promise<Result> {
  const per = Math.max(1, Math.round(connections / replicas.length));
  const results = await Promise.all(
    replicas.map((r) => autocannon({ ...opts, url: `http://127.0.0.1:${r.port}${opts.url ?? '/'}`, connections: per, duration: seconds })),
  );
  const first = results[0]!;
  return {
    ...first,
    requests: { ...first.requests, average: results.reduce((n, x) => n + x.requests.average, 0), total: results.reduce((n, x) => n + x.requests.total, 0) },
    latency: { ...first.latency, p50: Math.max(...results.map((x) => x.latency.p50)), p99: Math.max(...results.map((x) => x.latency.p99)) },
    non2xx: results.reduce((n, x) => n + x.non2xx, 0),
  };
}

function row(name: string, result: Result, extra = ''): void {
  console.log(`${name.padEnd(52)} ${result.requests.average.toFixed(0).padStart(8)} ${String(result.latency.p50).padStart(7)} ${String(result.latency.p99).padStart(7)} ${String(result.non2xx).padStart(7)}  ${extra}`);
}

function header(title: string): void {
  console.log(`\n${title}\n${'scenario'.padEnd(52)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'non2xx'.padStart(7)}`);
}

/** Lost races and commits from the replicas' closing log lines. */
function retryRate(replicas: Replica[]): { commits: number; conflicts: number; transactions: number } {
  const total = { commits: 0, conflicts: 0, transactions: 0 };
  for (const r of replicas) {
    const m = /(\d+) transactions in (\d+) commits, (\d+) lost races/.exec(r.stderr.join(''));
    if (m) {
      total.transactions += Number(m[1]);
      total.commits += Number(m[2]);
      total.conflicts += Number(m[3]);
    }
  }
  return total;
}

export async function runRedisBench(): Promise<void> {
  const skip = redisSkipReason();
  if (skip !== false) {
    console.log(`\nRedis store benchmarks skipped: ${skip}`);
    return;
  }
  const redis = await startTestRedis();
  try {
    await writes(redis);
    await reads(redis);
    await claims(redis);
  } finally {
    await redis.cleanup();
  }
}

const redisToml = (redis: TestRedis, town: string): string =>
  `name = "${town}"\nmax_agents = 100000\n[townhall.store]\nbackend = "redis"\nredis_url = "${redis.url}"\nkey_prefix = "bench"\n`;
const post = { url: '/v1/backlog', method: 'POST', body: JSON.stringify({ description: 'bench task', tags: ['bench'] }), headers: { 'content-type': 'application/json' } };

async function writes(redis: TestRedis): Promise<void> {
  header('POST /v1/backlog, 64 connections (AOF appendfsync always)');
  const journal = [await startReplica('name = "bench"\n[townhall.store]\ndurability = "always"\n')];
  const one = [await startReplica(redisToml(redis, 'w1'))];
  const three = [await startReplica(redisToml(redis, 'w3')), await startReplica(redisToml(redis, 'w3')), await startReplica(redisToml(redis, 'w3'))];
  const figures: number[] = [];
  for (const [name, set] of [['journal store, durability always', journal], ['redis store, one replica', one], ['redis store, three replicas (21+21+21 conns)', three]] as const) {
    await spread([...set], 64, post, 1);
    const result = await spread([...set], 64, post);
    figures.push(result.requests.average);
    row(name, result, `${(result.requests.average / figures[0]!).toFixed(2)}x journal`);
  }
  await Promise.all([...journal, ...one, ...three].map(stopReplica));
  const rate = retryRate(three);
  console.log(`three replicas: ${rate.transactions} transactions in ${rate.commits} commits (${(rate.transactions / Math.max(1, rate.commits)).toFixed(1)} per commit), ${rate.conflicts} lost races (${((100 * rate.conflicts) / Math.max(1, rate.commits + rate.conflicts)).toFixed(1)}% of commit attempts)`);
}

async function reads(redis: TestRedis): Promise<void> {
  header('GET, 32 connections');
  const replicas = [await startReplica(redisToml(redis, 'r')), await startReplica(redisToml(redis, 'r')), await startReplica(redisToml(redis, 'r'))];
  await autocannon({ url: `http://127.0.0.1:${replicas[0]!.port}/v1/agents`, method: 'POST', body: JSON.stringify({ name: 'a' }), headers: { 'content-type': 'application/json' }, connections: 1, amount: 50, requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify({ name: `agent-${Math.random().toString(36).slice(2)}` }) }) }] });
  for (const path of ['/v1/status', '/v1/agents']) {
    await spread(replicas.slice(0, 1), 32, { url: path }, 1);
    const single = await spread(replicas.slice(0, 1), 32, { url: path });
    row(`GET ${path}, one replica`, single);
    await spread(replicas, 32, { url: path }, 1);
    const all = await spread(replicas, 32, { url: path });
    row(`GET ${path}, three replicas`, all, `${(all.requests.average / single.requests.average).toFixed(2)}x one replica`);
  }
  await Promise.all(replicas.map(stopReplica));
}

async function claims(redis: TestRedis): Promise<void> {
  header('claims, three replicas contending (each item offered twice, 48 connections)');
  const replicas = [await startReplica(redisToml(redis, 'c')), await startReplica(redisToml(redis, 'c')), await startReplica(redisToml(redis, 'c'))];
  const base = `http://127.0.0.1:${replicas[0]!.port}`;
  const agents: string[] = [];
  await autocannon({ url: `${base}/v1/agents`, connections: 4, amount: 30, requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: JSON.stringify({ name: `claimer-${Math.random().toString(36).slice(2)}` }) }), onResponse: (_s, body) => void agents.push(JSON.parse(body).agent_id) }] });
  const items: string[] = [];
  await autocannon({ url: `${base}/v1/backlog`, connections: 32, amount: 15_000, requests: [{ ...post, onResponse: (_s, body) => void items.push(JSON.parse(body).task_id) }] });
  let next = 0;
  const claim = {
    method: 'POST',
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req: object) => {
      const n = next++;
      return { ...req, path: `/v1/backlog/${items[Math.floor(n / 2) % items.length]}/claim`, body: JSON.stringify({ agent: agents[n % agents.length] }) };
    } }],
  };
  const result = await spread(replicas, 48, claim);
  await Promise.all(replicas.map(stopReplica));
  const rate = retryRate(replicas);
  const won = result.requests.total - result.non2xx;
  row('POST /v1/backlog/{id}/claim', result, `${(won / SECONDS).toFixed(0)} claims/s won, ${result.non2xx} lost (409)`);
  console.log(`store retry rate: ${rate.conflicts} lost races in ${rate.commits + rate.conflicts} commit attempts (${((100 * rate.conflicts) / Math.max(1, rate.commits + rate.conflicts)).toFixed(1)}%; counts include the set-up)`);
}

if (process.argv[1]?.endsWith('redis-bench.js')) {
  runRedisBench().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
