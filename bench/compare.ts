// `npm run bench -- --compare DIR`: this build's hot path beside another
// build of Townhall (DIR: a checkout with node_modules installed and dist/
// built, e.g. the previous main), in one run, on the same machine state, with
// the same bare baseline: reads (GET /v1/status at 50 connections), then
// durable and non-durable writes (POST /v1/backlog at 64). Both builds get
// the same config and the same key.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { POST_BACKLOG, WRITE_STORE, several, startBaresLike } from './hot-path.js';
import { ROOT, startTownhall, stopServer } from './processes.js';
import { printTable, runRounds, type Row, type Scenario } from './rounds.js';
import { createCredentials, storeToml } from './towns.js';

export interface CompareOptions {
  other: string;
  processes: number;
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  writeConnections: number;
  log: (msg: string) => void;
}

export async function runCompare(o: CompareOptions): Promise<void> {
  const other = resolve(o.other);
  if (!existsSync(join(other, 'bin/townhall.js')) || !existsSync(join(other, 'dist/src/cli/townhall.js'))) {
    throw new Error(`${other} is not a built Townhall checkout (need bin/townhall.js and dist/; run npm ci && npx tsc there)`);
  }
  const creds = await createCredentials();
  const P = o.processes;
  const builds = [
    { label: 'this', root: ROOT },
    { label: 'other', root: other },
  ];
  const keyed = await Promise.all(builds.map((b) => several(P, () => startTownhall({ root: b.root, toml: `${creds.authToml}${storeToml('none')}` }))));
  const open = await Promise.all(builds.map((b) => several(P, () => startTownhall({ root: b.root, toml: storeToml('none') }))));
  const bares = await startBaresLike(keyed[0]![0]!, creds, P, o.log);
  const status = (headers: Record<string, string> = {}) => ({ requests: [{ path: '/v1/status', headers }] });
  const variants = [
    { name: 'mode none GET /v1/status', servers: open, headers: {} },
    { name: 'Bearer GET /v1/status', servers: keyed, headers: creds.bearer },
    { name: 'X-API-Key GET /v1/status', servers: keyed, headers: creds.xApiKey },
  ];
  // Interleaved: bare, then each variant on this build and the other, back to back.
  const scenarios: Scenario[] = [{ name: 'bare', servers: bares, load: status(), connections: o.connections }];
  for (const v of variants) {
    for (const [i, b] of builds.entries()) scenarios.push({ name: `${b.label} ${v.name}`, servers: v.servers[i]!, load: status(v.headers), connections: o.connections });
  }
  o.log(`compare ${ROOT} (this) with ${other} (other): ${scenarios.length} scenarios x ${P} processes x ${o.rounds} rounds x ${o.seconds}s`);
  const plan = { rounds: o.rounds, seconds: o.seconds, warmupSeconds: o.warmupSeconds };
  const s = await runRounds(scenarios, plan, o.log);
  await Promise.all([...keyed.flat(), ...open.flat()].map((x) => stopServer(x)));

  // Writes: fresh servers of both builds for each durability, interleaved the same way.
  const durabilities = ['always', 'none'] as const;
  const writers = await Promise.all(
    durabilities.map((d) => Promise.all(builds.map((b) => several(P, () => startTownhall({ root: b.root, toml: storeToml(d, WRITE_STORE) }))))),
  );
  const writeScenarios: Scenario[] = [{ name: 'bare write', servers: bares, load: POST_BACKLOG, connections: o.writeConnections }];
  durabilities.forEach((d, k) => {
    for (const [i, b] of builds.entries()) writeScenarios.push({ name: `${b.label} POST /v1/backlog "${d}"`, servers: writers[k]![i]!, load: POST_BACKLOG, connections: o.writeConnections });
  });
  o.log(`writes: ${writeScenarios.length} scenarios x ${P} processes x ${o.rounds} rounds x ${o.seconds}s`);
  const w = await runRounds(writeScenarios, plan, o.log);
  await Promise.all([...writers.flat(2), ...bares].map((x) => stopServer(x)));

  console.log(`\nthis build: ${ROOT}\nother build: ${other}`);
  const vsBare: Row[] = [{ name: 'bare node:http, same bytes', samples: s[0]! }];
  const vsOther: Row[] = [];
  variants.forEach((v, i) => {
    const mine = s[1 + 2 * i]!;
    const theirs = s[2 + 2 * i]!;
    vsBare.push({ name: `this ${v.name}`, samples: mine, base: s[0]! }, { name: `other ${v.name}`, samples: theirs, base: s[0]! });
    vsOther.push({ name: `this ${v.name}`, samples: mine, base: theirs, target: { atLeast: 0.95, byCpu: true, label: 'no slower (>= 0.95)' } });
  });
  printTable(`both builds against bare node:http, ${o.connections} connections, ${P} processes x ${o.rounds} rounds x ${o.seconds}s`, 'bare', vsBare);
  const writesVsBare: Row[] = [{ name: 'bare node:http, reads + parses the body, 201', samples: w[0]! }];
  durabilities.forEach((d, k) => {
    const mine = w[1 + 2 * k]!;
    const theirs = w[2 + 2 * k]!;
    writesVsBare.push({ name: `this POST /v1/backlog "${d}"`, samples: mine, base: w[0]! }, { name: `other POST /v1/backlog "${d}"`, samples: theirs, base: w[0]! });
    vsOther.push({ name: `this POST /v1/backlog "${d}"`, samples: mine, base: theirs, target: { atLeast: 0.95, byCpu: false, label: 'no slower (>= 0.95 req/s)' } });
  });
  vsOther.push({ name: 'this "none" against this "always"', samples: w[3]!, base: w[1]!, target: { atLeast: 1, byCpu: false, label: 'never slower (>= 1.00 req/s)' } });
  printTable(`both builds' writes against bare node:http, ${o.writeConnections} connections, ${P} processes x ${o.rounds} rounds x ${o.seconds}s`, 'bare', writesVsBare);
  printTable('this build against the other (ratio above 1: this one is faster / cheaper)', 'other', vsOther);
}
