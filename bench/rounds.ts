// Interleaved rounds over several server processes per variant, and the
// table that reports them.
//
// Identical server processes differ by about ±15% on this machine (memory
// layout, JIT decisions), and the machine drifts as other work comes and goes.
// So each variant runs on P processes, every scenario is measured once per
// process per round, in the order round -> process -> scenario, and each
// figure is the median over all its samples. A ratio pairs each sample with
// the baseline sample of the same round and process index (measured seconds
// apart), then takes the median of those ratios.
import { createClient } from './http-client.js';
import { cpuSeconds, type ServerProcess } from './processes.js';
import { runWrk, type WrkLoad, type WrkResult } from './wrk.js';

export interface Scenario {
  name: string;
  /** One server per process index; several scenarios may share a server. */
  servers: ServerProcess[];
  load: WrkLoad;
  connections: number;
}

export interface Sample extends WrkResult {
  /** Server CPU (user + system) per answered request, in microseconds. */
  cpuMicros: number;
  /** Compactions the server logged during the sample (a background cost the sample then carries). */
  compactions: number;
}

export interface RoundPlan {
  rounds: number;
  seconds: number;
  /** Warm-up before the first sample of each scenario on each process (JIT, caches, verified keys). */
  warmupSeconds: number;
}

export async function measure(server: ServerProcess, load: WrkLoad, connections: number, seconds: number): Promise<Sample> {
  const before = cpuSeconds(server.pid);
  const compactedBefore = server.compactions().length;
  const r = await runWrk({ port: server.port, load, connections, seconds });
  const cpu = cpuSeconds(server.pid) - before;
  return { ...r, cpuMicros: (cpu * 1e6) / Math.max(1, r.requests), compactions: server.compactions().length - compactedBefore };
}

/** samples[scenario][round * processes + process] */
export async function runRounds(scenarios: Scenario[], plan: RoundPlan, progress: (msg: string) => void): Promise<Sample[][]> {
  const processes = Math.min(...scenarios.map((s) => s.servers.length));
  const samples: Sample[][] = scenarios.map(() => []);
  for (let r = 0; r < plan.rounds; r++) {
    // One request first, alone, every round: the verified-key cache then holds
    // the key (a round can outlast verify_cache_ttl_secs), so no measured
    // second includes Argon2.
    for (const sc of scenarios) {
      const first = sc.load.requests[0];
      if (first === undefined) continue;
      for (const server of sc.servers) {
        const client = createClient(server.port);
        await client.send(first.method ?? 'GET', first.path, first.headers ?? {}, first.body);
        client.close();
      }
    }
    for (let p = 0; p < processes; p++) {
      for (const [i, sc] of scenarios.entries()) {
        const server = sc.servers[p]!;
        if (r === 0 && plan.warmupSeconds > 0) await runWrk({ port: server.port, load: sc.load, connections: sc.connections, seconds: plan.warmupSeconds });
        const s = await measure(server, sc.load, sc.connections, plan.seconds);
        samples[i]!.push(s);
        progress(`round ${r + 1}/${plan.rounds} process ${p + 1}/${processes} ${sc.name}: ${s.reqPerSec.toFixed(0)} req/s, ${s.cpuMicros.toFixed(1)} us/req${s.compactions > 0 ? `, ${s.compactions} compaction(s) during it` : ''}`);
      }
    }
  }
  return samples;
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export interface Ratio {
  median: number;
  min: number;
  max: number;
}

/** Paired ratios of `mine` over `base` (or base over mine, for costs), sample by sample. */
export function pairedRatio(mine: readonly number[], base: readonly number[]): Ratio {
  const r = mine.map((x, i) => x / base[i]!).filter((x) => Number.isFinite(x));
  return { median: median(r), min: Math.min(...r), max: Math.max(...r) };
}

export interface Target {
  /** Minimum ratio; applies to req/s and, when `byCpu`, to the CPU ratio too. */
  atLeast: number;
  byCpu: boolean;
  label: string;
}

export interface Row {
  name: string;
  samples: Sample[];
  /** The samples this row is compared with (same length, paired by index). */
  base?: Sample[];
  target?: Target;
}

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const ratioText = (r: Ratio): string => `${fmt(r.median, 2)} (${fmt(r.min, 2)}-${fmt(r.max, 2)})`;

export interface RowFigures {
  reqPerSec: number;
  cpuMicros: number;
  rps?: Ratio;
  /** Base CPU per request / this CPU per request: above 1 means cheaper than the base. */
  cpu?: Ratio;
  pass?: boolean;
}

export function figures(row: Row): RowFigures {
  const reqPerSec = median(row.samples.map((s) => s.reqPerSec));
  const cpuMicros = median(row.samples.map((s) => s.cpuMicros));
  if (row.base === undefined) return { reqPerSec, cpuMicros };
  const rps = pairedRatio(row.samples.map((s) => s.reqPerSec), row.base.map((s) => s.reqPerSec));
  const cpu = pairedRatio(row.base.map((s) => s.cpuMicros), row.samples.map((s) => s.cpuMicros));
  const t = row.target;
  const pass = t === undefined ? undefined : rps.median >= t.atLeast && (!t.byCpu || cpu.median >= t.atLeast);
  return pass === undefined ? { reqPerSec, cpuMicros, rps, cpu } : { reqPerSec, cpuMicros, rps, cpu, pass };
}

/** A Markdown table (pastes into the README as is). */
export function printTable(title: string, baseLabel: string, rows: Row[]): void {
  console.log(`\n${title}\n`);
  console.log(`| scenario | req/s | req/s vs ${baseLabel} | CPU us/req | CPU vs ${baseLabel} | p50 ms | p99 ms | non-2xx | target | |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const row of rows) {
    const f = figures(row);
    const p50 = median(row.samples.map((s) => s.p50Ms));
    const p99 = median(row.samples.map((s) => s.p99Ms));
    const non2xx = row.samples.reduce((n, s) => n + s.non2xx + s.socketErrors, 0);
    const verdict = f.pass === undefined ? '' : f.pass ? 'PASS' : 'FAIL';
    console.log(
      `| ${row.name} | ${fmt(f.reqPerSec, 0)} | ${f.rps ? ratioText(f.rps) : '1.00'} | ${fmt(f.cpuMicros, 1)} | ${f.cpu ? ratioText(f.cpu) : '1.00'} | ${fmt(p50, 2)} | ${fmt(p99, 2)} | ${non2xx} | ${row.target?.label ?? ''} | ${verdict} |`,
    );
  }
}
