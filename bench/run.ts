// `npm run bench [-- options]`: load benchmarks that print ratios against a
// baseline measured in the same run (absolute numbers on a shared 2-core
// machine mean little; ratios and server CPU per request do). A benchmark is
// information, not a test: it exits 0 whether targets are met or not, and
// exits 0 with a message when wrk is not installed.
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runCompare } from './compare.js';
import { runHotPath } from './hot-path.js';
import { NODE_FLAGS } from './processes.js';
import { runScale } from './scale.js';
import { runSoak } from './soak.js';
import { wrkVersion } from './wrk.js';

const USAGE = `Usage: npm run bench -- [mode] [options]

Modes (default: the hot path: GET /v1/status, /health, POST /v1/backlog against bare node:http)
  --compare DIR   the hot path (reads, writes) of this build beside the build in DIR (a checkout
                  with node_modules and dist/ built), e.g. the previous main
  --scale         towns of 1k, 10k and 100k records: latencies, RSS, start-up, compaction pause
  --scale-1m      --scale with a 1M-record town too (slow: minutes, several GB of RAM)
  --scale-sizes A,B,...  --scale with these town sizes instead
  --soak          mixed reads and writes at 64 connections; RSS after warm-up vs at the end

Options
  --quick         short runs (1 process, 1 round, 2 s), for a smoke check
  --processes N   server processes per variant (default 5)
  --rounds N      interleaved rounds (default 2)
  --seconds N     seconds per measurement (default 5)
  --soak-secs N   measured soak duration after a 10 s warm-up (default 60)
  --no-flood      skip the wrong-key flood in the default mode
Environment: BENCH_NODE_FLAGS (node flags for every server, Townhall and bare alike), BENCH_WRK (wrk binary)
`;

function machine(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} CPUs (${model}), Node ${process.version}, server node flags: ${NODE_FLAGS.length > 0 ? NODE_FLAGS.join(' ') : '(none)'}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      compare: { type: 'string' },
      scale: { type: 'boolean' },
      'scale-1m': { type: 'boolean' },
      soak: { type: 'boolean' },
      processes: { type: 'string' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      'soak-secs': { type: 'string' },
      'no-flood': { type: 'boolean' },
      'scale-sizes': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const wrk = wrkVersion();
  if (wrk === null) {
    console.log('townhall bench: wrk is not installed, so nothing was measured.');
    console.log('Install it (Debian/Ubuntu: `apt-get install wrk`; macOS: `brew install wrk`) and run `npm run bench` again.');
    console.log('(The bench no longer falls back to a Node load generator: on two cores it runs out of CPU before the server does.)');
    return 0;
  }
  const quick = values.quick === true;
  const num = (v: string | undefined, fallback: number): number => {
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got ${JSON.stringify(v)}`);
    return n;
  };
  const processes = num(values.processes, quick ? 1 : 5);
  const rounds = num(values.rounds, quick ? 1 : 2);
  const seconds = num(values.seconds, quick ? 2 : 5);
  const warmupSeconds = quick ? 1 : 2;
  const started = Date.now();
  const log = (msg: string): void => void process.stderr.write(`  [${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
  console.log(`townhall bench on ${machine()}; load generator: ${wrk} (-t1)`);
  const args = process.argv.slice(2);
  console.log(`command: npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''} (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);

  if (values.compare !== undefined) {
    await runCompare({ other: values.compare, processes, rounds, seconds, warmupSeconds, connections: 50, writeConnections: 64, log });
  } else if (values.scale === true || values['scale-1m'] === true || values['scale-sizes'] !== undefined) {
    const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
    if (values['scale-1m'] === true) sizes.push(1_000_000);
    if (values['scale-sizes'] !== undefined) sizes.splice(0, sizes.length, ...values['scale-sizes'].split(',').map((v) => num(v, 0)));
    await runScale({ sizes, quick, log });
  } else if (values.soak === true) {
    await runSoak({ seconds: num(values['soak-secs'], quick ? 10 : 60), warmupSeconds: quick ? 3 : 10, connections: 64, log });
  } else {
    await runHotPath({ processes, rounds, seconds, warmupSeconds, readConnections: 50, writeConnections: 64, flood: values['no-flood'] !== true, log });
  }
  console.log(`\n(done in ${((Date.now() - started) / 1000).toFixed(0)} s; targets are information: the bench exits 0 either way)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
