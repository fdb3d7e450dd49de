// `npm run bench` (default mode): the hot path against bare node:http, with
// the targets of issue 11 printed beside each ratio. Reads at 50 connections
// (GET /v1/status with auth mode none, Bearer, X-API-Key, Basic; /health),
// writes at 64 (POST /v1/backlog with durability "always" and "none" against
// a bare server that reads and parses the same body), then valid keys while
// a flood of wrong keys hits the Argon2 gate. Bearer reads also run on
// servers that first served an idempotent POST, a long-poll, a reload and a
// wrong key once each: nothing that happens once may slow every later request.
import { answerShape, createClient, type Answer } from './http-client.js';
import { startBare, startTownhall, stopServer, type ServerProcess } from './processes.js';
import { median, printTable, runRounds, type RoundPlan, type Scenario } from './rounds.js';
import { BACKLOG_BODY, JSON_HEADERS, createCredentials, storeToml, type Credentials } from './towns.js';
import { runWrk } from './wrk.js';

/**
 * The write servers hold compaction off. At the default 128 MiB a town of
 * this bench's size compacts once, after about 335k writes: inside the second
 * round for some processes and not others, and sooner for the faster mode.
 * A 2 s window holding it measured 26k writes/s against 33-39k around it, so
 * it decided the "none" vs "always" comparison more than the modes did.
 * What a compaction costs is measured by --scale (its pause) and stated
 * beside these figures in the README.
 */
export const WRITE_STORE = 'compact_after_bytes = 1073741824\n';

/** The write every write scenario repeats: one backlog item. */
export const POST_BACKLOG = { requests: [{ method: 'POST', path: '/v1/backlog', headers: JSON_HEADERS, body: BACKLOG_BODY }] };

export interface HotPathOptions extends RoundPlan {
  processes: number;
  readConnections: number;
  writeConnections: number;
  flood: boolean;
  log: (msg: string) => void;
}

const atLeast = (x: number): { atLeast: number; byCpu: boolean; label: string } => ({ atLeast: x, byCpu: true, label: `>= ${x.toFixed(2)} req/s & CPU` });

/** Start `count` servers at once. */
export function several(count: number, start: () => Promise<ServerProcess>): Promise<ServerProcess[]> {
  return Promise.all(Array.from({ length: count }, start));
}

/**
 * The bare baseline, fed the status JSON a keyed Townhall really answers, and
 * a check that both answer the same status, headers and lengths.
 */
export async function startBaresLike(townhall: ServerProcess, creds: Credentials, count: number, log: (msg: string) => void): Promise<ServerProcess[]> {
  const th = createClient(townhall.port);
  const status = await th.send('GET', '/v1/status', creds.bearer);
  const health = await th.send('GET', '/health');
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(String(status.headers['x-request-id']));
  const template = { status: JSON.parse(status.body) as unknown, health: JSON.parse(health.body) as unknown, requestIds: uuid ? ('uuid' as const) : ('counter' as const) };
  const bares = await several(count, () => startBare(template));
  const bare = createClient(bares[0]!.port);
  const checks: [string, () => Promise<[string, string]>][] = [
    ['GET /v1/status', async () => [answerShape(status), answerShape(await bare.send('GET', '/v1/status'))]],
    ['GET /health', async () => [answerShape(health), answerShape(await bare.send('GET', '/health'))]],
  ];
  for (const [name, check] of checks) {
    const [a, b] = await check();
    log(a === b ? `baseline check ${name}: same status, headers and Content-Length as Townhall` : `WARNING baseline ${name} differs:\n  townhall ${a}\n  bare     ${b}`);
  }
  th.close();
  bare.close();
  return bares;
}

/** An idempotent POST, a long-poll (1 s, nothing comes), a reload and a wrong key, once each, on a keyed server. */
async function season(server: ServerProcess, creds: Credentials): Promise<void> {
  const client = createClient(server.port);
  const expect = async (what: string, answer: Promise<Answer>, statuses: number[]): Promise<void> => {
    const a = await answer;
    if (!statuses.includes(a.status)) throw new Error(`seasoning a server: ${what} answered ${a.status} ${a.body.slice(0, 300)}`);
  };
  try {
    await expect('idempotent POST /v1/backlog', client.send('POST', '/v1/backlog', { ...creds.bearer, ...JSON_HEADERS, 'Idempotency-Key': 'once' }, BACKLOG_BODY), [201]);
    await expect('long-poll inbox/next', client.send('POST', '/v1/agents/supervisor/inbox/next?wait=1', creds.bearer), [200, 204]);
    await expect('POST /v1/admin/reload', client.send('POST', '/v1/admin/reload', creds.bearer), [200]);
    // A failure from the address makes the limiter look at every later request from it for a minute.
    await expect('a wrong key', client.send('GET', '/v1/status', { Authorization: 'Bearer wrong-key-once' }), [401]);
  } finally {
    client.close();
  }
}

export async function runHotPath(o: HotPathOptions): Promise<void> {
  const creds = await createCredentials();
  const P = o.processes;
  const plan: RoundPlan = { rounds: o.rounds, seconds: o.seconds, warmupSeconds: o.warmupSeconds };

  // 1. Reads.
  const keyed = await several(P, () => startTownhall({ toml: `${creds.authToml}${storeToml('none')}` }));
  const open = await several(P, () => startTownhall({ toml: storeToml('none') }));
  const seasoned = await several(P, () => startTownhall({ toml: `${creds.authToml}${storeToml('none')}` }));
  await Promise.all(seasoned.map((server) => season(server, creds)));
  const bares = await startBaresLike(keyed[0]!, creds, P, o.log);
  const c = o.readConnections;
  const status = (headers: Record<string, string> = {}) => ({ requests: [{ path: '/v1/status', headers }] });
  const reads: Scenario[] = [
    { name: 'bare node:http, same bytes as /v1/status', servers: bares, load: status(), connections: c },
    { name: 'bare node:http, same bytes as /health', servers: bares, load: { requests: [{ path: '/health' }] }, connections: c },
    { name: 'Townhall mode none GET /v1/status', servers: open, load: status(), connections: c },
    { name: 'Townhall Bearer GET /v1/status', servers: keyed, load: status(creds.bearer), connections: c },
    { name: 'Townhall X-API-Key GET /v1/status', servers: keyed, load: status(creds.xApiKey), connections: c },
    { name: 'Townhall Basic GET /v1/status', servers: keyed, load: status(creds.basic), connections: c },
    { name: 'Townhall GET /health', servers: keyed, load: { requests: [{ path: '/health' }] }, connections: c },
    { name: 'Townhall Bearer GET /v1/status after an idempotent POST, a long-poll, a reload and a wrong key', servers: seasoned, load: status(creds.bearer), connections: c },
  ];
  o.log(`reads: ${reads.length} scenarios x ${P} processes x ${o.rounds} rounds x ${o.seconds}s`);
  const r = await runRounds(reads, plan, o.log);
  await Promise.all([...keyed, ...open, ...seasoned].map((s) => stopServer(s)));
  printTable(`GET, ${c} connections, ${P} processes x ${o.rounds} rounds x ${o.seconds}s per scenario (medians; ratio ranges in brackets)`, 'bare', [
    { name: reads[0]!.name, samples: r[0]! },
    { name: reads[1]!.name, samples: r[1]! },
    { name: reads[2]!.name, samples: r[2]!, base: r[0]!, target: atLeast(0.9) },
    { name: reads[3]!.name, samples: r[3]!, base: r[0]!, target: atLeast(0.9) },
    { name: reads[4]!.name, samples: r[4]!, base: r[0]!, target: atLeast(0.9) },
    { name: reads[5]!.name, samples: r[5]!, base: r[0]!, target: atLeast(0.85) },
    { name: 'Townhall GET /health (vs bare /health)', samples: r[6]!, base: r[1]!, target: atLeast(0.95) },
  ]);
  printTable('What happens once slows nothing after it: Bearer GET /v1/status on servers that served each once, against fresh ones', 'fresh', [
    { name: 'after an idempotent POST, a long-poll, a reload and a wrong key (vs fresh Bearer)', samples: r[7]!, base: r[3]!, target: atLeast(0.9) },
  ]);

  // 2. Writes: the same JSON body, bare server parses it and answers 201.
  // Fresh servers for both durabilities, so they differ in nothing else.
  const always = await several(P, () => startTownhall({ toml: storeToml('always', WRITE_STORE) }));
  const none = await several(P, () => startTownhall({ toml: storeToml('none', WRITE_STORE) }));
  const w = o.writeConnections;
  const writes: Scenario[] = [
    { name: 'bare node:http, reads + parses the body, 201', servers: bares, load: POST_BACKLOG, connections: w },
    { name: 'Townhall POST /v1/backlog durability "always"', servers: always, load: POST_BACKLOG, connections: w },
    { name: 'Townhall POST /v1/backlog durability "none"', servers: none, load: POST_BACKLOG, connections: w },
  ];
  o.log(`writes: ${writes.length} scenarios x ${P} processes x ${o.rounds} rounds x ${o.seconds}s`);
  const wr = await runRounds(writes, plan, o.log);
  await Promise.all([...always, ...none, ...bares].map((s) => stopServer(s)));
  printTable(`POST /v1/backlog, ${w} connections, ${P} processes x ${o.rounds} rounds x ${o.seconds}s per scenario`, 'base', [
    { name: writes[0]!.name, samples: wr[0]! },
    { name: `${writes[1]!.name} (vs bare)`, samples: wr[1]!, base: wr[0]!, target: { atLeast: 0.5, byCpu: false, label: '>= 0.50 req/s' } },
    { name: `${writes[2]!.name} (vs bare)`, samples: wr[2]!, base: wr[0]! },
    { name: `${writes[2]!.name} (vs "always")`, samples: wr[2]!, base: wr[1]!, target: { atLeast: 1, byCpu: false, label: 'never slower (>= 1.00 req/s)' } },
  ]);
  const cpuPerWrite = (i: number): string => median(wr[i]!.map((s) => s.cpuMicros)).toFixed(1);
  console.log(`\nserver CPU per write: bare ${cpuPerWrite(0)} us, "always" ${cpuPerWrite(1)} us, "none" ${cpuPerWrite(2)} us`);
  // Counted, not assumed: a much faster machine could pass even this threshold within the rounds.
  const compacted = wr.flat().reduce((n, s) => n + s.compactions, 0);
  console.log(`(${compacted === 0 ? 'no compaction' : `${compacted} compaction(s)`} in these samples: ${WRITE_STORE.trim()}; --scale measures compaction)`);

  if (o.flood) await runFlood(creds, o);
}

/**
 * Valid keys while distinct wrong keys flood in from many forwarded addresses
 * (so the per-address limiter never blocks them and every one reaches the
 * Argon2 gate): the valid keys' p99 should stay low.
 */
async function runFlood(creds: Credentials, o: HotPathOptions): Promise<void> {
  const server = await startTownhall({ toml: `[townhall]\ntrust_proxy = true\n${creds.authToml}${storeToml('none')}` });
  const valid = { requests: [{ path: '/v1/status', headers: creds.bearer }] };
  const seconds = Math.max(2, o.seconds);
  await runWrk({ port: server.port, load: valid, connections: 16, seconds: 1 });
  const alone = await runWrk({ port: server.port, load: valid, connections: 16, seconds });
  const luaRequest = `local n = 0
request = function()
  n = n + 1
  local ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format("GET", "/v1/status", {["Authorization"] = "Bearer wrong-" .. n .. "-" .. math.random(1, 1000000000), ["X-Forwarded-For"] = ip})
end`;
  const flood = runWrk({ port: server.port, load: { requests: [], luaRequest }, connections: 16, seconds: seconds + 2 });
  await new Promise((r) => setTimeout(r, 1000));
  const under = await runWrk({ port: server.port, load: valid, connections: 16, seconds });
  const f = await flood;
  await stopServer(server);
  console.log(`\nvalid Bearer keys while wrong keys flood the Argon2 gate (16 + 16 connections, ${seconds}s)\n`);
  console.log('| load | req/s | p50 ms | p99 ms | non-2xx |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| valid Bearer alone | ${alone.reqPerSec.toFixed(0)} | ${alone.p50Ms.toFixed(2)} | ${alone.p99Ms.toFixed(2)} | ${alone.non2xx} |`);
  console.log(`| valid Bearer under the flood | ${under.reqPerSec.toFixed(0)} | ${under.p50Ms.toFixed(2)} | ${under.p99Ms.toFixed(2)} | ${under.non2xx} |`);
  console.log(`| the flood itself (401/503 expected) | ${f.reqPerSec.toFixed(0)} | ${f.p50Ms.toFixed(2)} | ${f.p99Ms.toFixed(2)} | ${f.non2xx} |`);
}

