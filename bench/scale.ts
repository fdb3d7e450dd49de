// `npm run bench -- --scale`: does a request's cost grow with the town?
// For towns of 1k, 10k, 100k (and with --scale-1m, 1M) records, seeded
// straight into a snapshot (seed-town.ts), it starts Townhall on the data
// directory and measures, one request at a time on one keep-alive connection
// (so a latency is the cost of that request alone), the kinds interleaved
// over one stretch of time (probeInterleaved):
//   GET /v1/status (twice: steady, and right after a write, which invalidates
//   anything cached per store version), GET /v1/backlog?limit=100,
//   GET /v1/tasks?tag=m5&limit=5 (one task in 97 carries it: 8 of the 1k
//   town's, so every size answers a full page of 5), GET .../inbox?limit=2
//   (every agent has at least two messages),
//   POST /v1/agents/{a}/inbox/next, POST /v1/backlog, POST /v1/backlog/{id}/claim;
// then RSS, bytes per record (RSS over an empty town's, per record), start-up
// (spawn to listening, which includes loading the snapshot), and the longest
// compaction pause: the worst latency of a /health probe loop while writers
// push the journal past compact_after_bytes (1 MiB here, about 2,500 writes)
// and a quarter of the seeded snapshot (journal-compaction.ts), until one
// compaction has run: the town it snapshots is up to 1.25x the size named. Durability
// "none", so fsync latency does not blur the picture.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from './http-client.js';
import { rssBytes, startTownhall, stopServer, type ServerProcess } from './processes.js';
import { median } from './rounds.js';
import { seedTown, type SeededTown } from './seed-town.js';
import { BACKLOG_BODY, JSON_HEADERS, storeToml } from './towns.js';
import { runWrk } from './wrk.js';

export interface ScaleOptions {
  sizes: number[];
  quick: boolean;
  log: (msg: string) => void;
}

/** Small: only the smallest towns reach it before a quarter of their snapshot (the probes before it write about 250 KB). */
const COMPACT_AFTER_BYTES = 1024 * 1024;
const WARMUP_REQUESTS = 200;

interface Latency {
  p50: number;
  p99: number;
  n: number;
  bad: number;
}

interface SizeResult {
  records: number;
  seedSecs: number;
  startupMs: number;
  rssStart: number;
  rssEnd: number;
  latencies: Map<string, Latency>;
  pauseMs: number;
  /** Worst /health over the whole write phase (the town grows meanwhile: it may include other stalls). */
  phaseWorstMs: number;
  probeP99Ms: number;
  compactionLog: string;
}

function percentile(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)] ?? NaN;
}

interface ProbeRequest {
  method: string;
  path: string;
  body?: string;
}

/** One request, timed; `before` runs untimed ahead of it. A failed or reset request counts as bad, not as the end of the run. */
async function timeOne(client: Client, r: ProbeRequest, before?: () => Promise<unknown>): Promise<{ ms: number; bad: boolean }> {
  if (before) await before().catch(() => undefined);
  const started = performance.now();
  try {
    const a = await client.send(r.method, r.path, r.body === undefined ? {} : JSON_HEADERS, r.body);
    return { ms: a.ms, bad: a.status >= 300 };
  } catch (err) {
    process.stderr.write(`  ${r.method} ${r.path} failed after ${(performance.now() - started).toFixed(0)} ms: ${(err as Error).message}\n`);
    return { ms: performance.now() - started, bad: true };
  }
}

interface ProbeKind {
  name: string;
  count: number;
  make: (i: number) => ProbeRequest;
  before?: () => Promise<unknown>;
}

/**
 * The kinds' requests interleaved over one stretch of time, each kind's spread
 * evenly over it, so that whatever passes through the server meanwhile (a GC
 * cycle, a kernel flush, another process) weighs on every kind alike. Run one
 * kind after another instead, each took 40-100 ms in all at 1M records, and
 * a single such disturbance moved one kind's median by 2-3x in some runs.
 * Stops early (after at least 5 cycles) when `maxSecs` runs out.
 */
async function probeInterleaved(client: Client, kinds: ProbeKind[], maxSecs: number): Promise<Map<string, Latency>> {
  const cycles = Math.max(...kinds.map((k) => k.count));
  const times = kinds.map((): number[] => []);
  const bad = kinds.map(() => 0);
  const deadline = performance.now() + maxSecs * 1000;
  for (let c = 0; c < cycles && (c < 5 || performance.now() < deadline); c++) {
    for (const [k, kind] of kinds.entries()) {
      // Kind k's j-th request falls in the cycle where floor(c * count / cycles) steps up.
      if (Math.floor(((c + 1) * kind.count) / cycles) === Math.floor((c * kind.count) / cycles)) continue;
      const t = await timeOne(client, kind.make(times[k]!.length), kind.before);
      times[k]!.push(t.ms);
      if (t.bad) bad[k]!++;
    }
  }
  return new Map(kinds.map((kind, k) => [kind.name, { p50: median(times[k]!), p99: percentile(times[k]!, 99), n: times[k]!.length, bad: bad[k]! }]));
}

async function measureSize(records: number, o: ScaleOptions): Promise<SizeResult> {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-scale-'));
  const storeDir = join(dir, 'store');
  let town: SeededTown | undefined;
  if (records > 0) {
    o.log(`seeding a town of ${records} records`);
    town = await seedTown(storeDir, records);
    o.log(`seeded ${town.tasks} backlog tasks and ${town.messages} messages in ${town.seconds.toFixed(1)} s`);
  }
  const server = await startTownhall({ dir, toml: storeToml('none', `path = "${storeDir}"\ncompact_after_bytes = ${COMPACT_AFTER_BYTES}\n`), startTimeoutMs: 600_000 });
  try {
    return await measureServer(server, town, records, o);
  } catch (err) {
    await new Promise((r) => setTimeout(r, 500));
    throw new Error(`${records} records: ${(err as Error).message}; Townhall's last words:\n${server.lastWords()}`);
  } finally {
    await stopServer(server);
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureServer(server: ServerProcess, town: SeededTown | undefined, records: number, o: ScaleOptions): Promise<SizeResult> {
  const rssStart = rssBytes(server.pid);
  o.log(`${records} records: started in ${server.startupMs.toFixed(0)} ms, RSS ${(rssStart / 2 ** 20).toFixed(0)} MiB`);
  const latencies = new Map<string, Latency>();
  let pauseMs = NaN;
  let phaseWorstMs = NaN;
  let probeP99Ms = NaN;
  let compactionLog = '';
  if (town !== undefined) {
    const client = createClient(server.port);
    const n = o.quick ? 50 : 300;
    const few = Math.min(o.quick ? 30 : 100, town.agents.length);
    const maxSecs = o.quick ? 3 : 10;
    const post = (): ProbeRequest => ({ method: 'POST', path: '/v1/backlog', body: BACKLOG_BODY });
    // Untimed, so the JIT has compiled the paths before the first timed request.
    const warmUntil = performance.now() + 3000;
    for (let i = 0; i < WARMUP_REQUESTS && performance.now() < warmUntil; i++) {
      await timeOne(client, { method: 'GET', path: '/v1/status' });
      await timeOne(client, { method: 'GET', path: '/v1/backlog?limit=100' });
      await timeOne(client, post());
    }
    const claimable = town.firstTaskIds;
    const kinds: ProbeKind[] = [
      // Steady: the untimed read first sees past the writes of the cycle before, as a run of reads would.
      { name: 'GET /v1/status', count: n, make: () => ({ method: 'GET', path: '/v1/status' }), before: () => client.send('GET', '/v1/status') },
      { name: 'GET /v1/status after a write', count: few, make: () => ({ method: 'GET', path: '/v1/status' }), before: () => client.send('POST', '/v1/backlog', JSON_HEADERS, BACKLOG_BODY) },
      { name: 'GET /v1/backlog?limit=100', count: few, make: () => ({ method: 'GET', path: '/v1/backlog?limit=100' }) },
      { name: 'GET /v1/tasks?tag=m5&limit=5', count: few, make: () => ({ method: 'GET', path: '/v1/tasks?tag=m5&limit=5' }) },
      { name: 'GET .../inbox?limit=2', count: few, make: (i) => ({ method: 'GET', path: `/v1/agents/${town.agents[i % town.agents.length]!}/inbox?limit=2` }) },
      { name: 'POST .../inbox/next', count: few, make: (i) => ({ method: 'POST', path: `/v1/agents/${town.agents[i % town.agents.length]!}/inbox/next` }) },
      { name: 'POST /v1/backlog', count: n, make: post },
      { name: 'POST /v1/backlog/{id}/claim', count: Math.min(few, claimable.length), make: (i) => ({ method: 'POST', path: `/v1/backlog/${claimable[i]!}/claim`, body: JSON.stringify({ agent: town.agents[i % town.agents.length]! }) }) },
    ];
    for (const [name, l] of await probeInterleaved(client, kinds, maxSecs * kinds.length)) latencies.set(name, l);
    client.close();
    ({ pauseMs, phaseWorstMs, probeP99Ms, compactionLog } = await compactionPause(server, o));
  }
  const rssEnd = rssBytes(server.pid);
  return { records, seedSecs: town?.seconds ?? 0, startupMs: server.startupMs, rssStart, rssEnd, latencies, pauseMs, phaseWorstMs, probeP99Ms, compactionLog };
}

/**
 * Worst /health latency while a compaction runs, with 4 writers filling the
 * journal until one has run. The compaction's window is taken from its log
 * line ("in N ms", ending when the line was seen); the worst probe of the
 * whole phase is reported beside it, since the town grows by the writes and
 * that can stall too (a V8 Map rehashed a whole collection as it passed 2^20
 * records, until record-table.ts).
 */
async function compactionPause(server: ServerProcess, o: ScaleOptions): Promise<{ pauseMs: number; phaseWorstMs: number; probeP99Ms: number; compactionLog: string }> {
  const seen = server.compactions().length;
  const stop = new AbortController();
  const writers = runWrk({ port: server.port, load: { requests: [{ method: 'POST', path: '/v1/backlog', headers: JSON_HEADERS, body: BACKLOG_BODY }] }, connections: 4, seconds: 300, timeoutSecs: 30, signal: stop.signal });
  const client = createClient(server.port);
  /** [start, latency] of each probe. */
  const probes: [number, number][] = [];
  const started = performance.now();
  let doneAt: number | undefined;
  while (performance.now() - started < 290_000) {
    const at = performance.now();
    probes.push([at, (await timeOne(client, { method: 'GET', path: '/health' })).ms]);
    if (doneAt === undefined && server.compactions().length > seen) doneAt = performance.now();
    if (doneAt !== undefined && performance.now() - doneAt > 500) break;
  }
  stop.abort();
  const w = await writers;
  client.close();
  const lines = server.compactions().slice(seen);
  const log = lines.join(' | ');
  const times = probes.map(([, latency]) => latency);
  const tookMs = Number(/ in (\d+) ms/.exec(lines[0] ?? '')?.[1] ?? NaN);
  // A probe counts if any part of it overlaps the compaction (with 100 ms of slack at the start).
  const windowStart = doneAt === undefined ? NaN : doneAt - tookMs - 100;
  const during = probes.filter(([at, latency]) => at + latency >= windowStart && at <= (doneAt ?? 0)).map(([, latency]) => latency);
  // Not Math.max(...probes): a phase at 1M records takes over a hundred thousand probes, past the stack's limit for arguments.
  const worst = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), -Infinity);
  const pauseMs = during.length === 0 ? NaN : worst(during);
  const phaseWorstMs = worst(times);
  o.log(`compaction phase: ${w.requests} writes, ${times.length} probes (${during.length} during the compaction), worst ${ms(pauseMs)} ms during it, ${ms(phaseWorstMs)} ms in the phase; ${log || 'no compaction seen'}`);
  return { pauseMs, phaseWorstMs, probeP99Ms: percentile(times, 99), compactionLog: log };
}

const ms = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : x < 10 ? x.toFixed(2) : x.toFixed(0));
const mib = (b: number): string => (Number.isFinite(b) ? (b / 2 ** 20).toFixed(0) : '-');

export async function runScale(o: ScaleOptions): Promise<void> {
  const empty = await measureSize(0, o);
  const results: SizeResult[] = [];
  for (const size of o.sizes) results.push(await measureSize(size, o));
  const names = [...(results[0]?.latencies.keys() ?? [])];
  console.log(`\nlatency of one request at a time, ms p50 / p99, by town size (records: backlog tasks + messages over 100 agents)\n`);
  console.log(`| request | ${results.map((r) => `${r.records.toLocaleString('en')}`).join(' | ')} | largest / smallest p50 | target |`);
  console.log(`|---|${results.map(() => '---:').join('|')}|---:|---|`);
  for (const name of names) {
    const cells = results.map((r) => {
      const l = r.latencies.get(name);
      return l === undefined ? '-' : `${ms(l.p50)} / ${ms(l.p99)}${l.bad > 0 ? ` (${l.bad} non-2xx)` : ''}`;
    });
    const first = results[0]!.latencies.get(name)?.p50 ?? NaN;
    const last = results[results.length - 1]!.latencies.get(name)?.p50 ?? NaN;
    const growth = last / first;
    console.log(`| ${name} | ${cells.join(' | ')} | ${growth.toFixed(1)}x | within 2x: ${growth <= 2 ? 'PASS' : 'FAIL'} |`);
  }
  console.log(`\nresources by town size (empty town: start-up ${empty.startupMs.toFixed(0)} ms, RSS ${mib(empty.rssStart)} MiB)\n`);
  console.log('| records | seeding s | start-up ms | RSS after start MiB | RSS at end MiB | bytes/record | worst /health during compaction ms | worst /health while writing ms | /health p99 then ms | target |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of results) {
    const perRecord = (r.rssStart - empty.rssStart) / r.records;
    const verdicts = [`pause <= 100 ms: ${r.pauseMs <= 100 ? 'PASS' : 'FAIL'}`];
    if (r.records >= 1_000_000) verdicts.push(`start-up < 10 s: ${r.startupMs < 10_000 ? 'PASS' : 'FAIL'}`);
    console.log(`| ${r.records.toLocaleString('en')} | ${r.seedSecs.toFixed(1)} | ${r.startupMs.toFixed(0)} | ${mib(r.rssStart)} | ${mib(r.rssEnd)} | ${perRecord.toFixed(0)} | ${ms(r.pauseMs)} | ${ms(r.phaseWorstMs)} | ${ms(r.probeP99Ms)} | ${verdicts.join(', ')} |`);
  }
  console.log('\nserver compaction log lines:');
  for (const r of results) console.log(`  ${r.records}: ${r.compactionLog || '(none seen)'}`);
}
