// `npm run bench -- --soak`: mixed reads and writes at 64 connections for a
// minute (after a warm-up), as a town is really used: status polls, backlog
// reads, adds and removals, messages sent and taken, inboxes read,
// heartbeats, all with a Bearer key and durability "always". Reported per 10 s
// window: req/s, server CPU per request, RSS and the town's task count; the
// target is RSS at the end within 10% of RSS after warm-up, and throughput
// that holds.
//
// The town is in a steady state, as a working town is: work taken out of the
// backlog (the script removes the tasks it added, oldest first) and finished
// tasks deleted by retention (`retain_completed_secs = 5` here instead of a
// week), so memory that still grows is a leak, not data. Each message sent
// to an agent is taken by that agent's inbox/next in the same cycle.
import { createClient } from './http-client.js';
import { cpuSeconds, rssBytes, startTownhall, stopServer } from './processes.js';
import { createCredentials, storeToml } from './towns.js';
import { luaFormat, runWrk, type HttpRequestSpec } from './wrk.js';

/** The mix's slot for "remove the oldest task this script added" (GET /v1/status while there is none). */
const REMOVE_ONE: HttpRequestSpec = { path: '/v1/backlog/<oldest added>', dynamic: true };
const RETAIN_SECS = 5;

/** wrk Lua for REMOVE_ONE: 201 answers carrying a task_id queue it; the slot removes the oldest. */
function removeOldestLua(bearer: Record<string, string>): string {
  return `local ids, head, tail = {}, 1, 0
dynamic = function()
  if head <= tail then
    local id = ids[head]
    ids[head] = nil
    head = head + 1
    return ${luaFormat({ method: 'DELETE', path: '', headers: bearer }, '"/v1/backlog/" .. id')}
  end
  return ${luaFormat({ path: '/v1/status', headers: bearer })}
end
response = function(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"task_id":"([%w%-]+)"')
    if id then
      tail = tail + 1
      ids[tail] = id
    end
  end
end`;
}

export interface SoakOptions {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  log: (msg: string) => void;
}

const AGENTS = 20;
const WINDOW_SECS = 10;

export async function runSoak(o: SoakOptions): Promise<void> {
  const creds = await createCredentials();
  // max_agents first: a top-level key must come before any table.
  const server = await startTownhall({ toml: `max_agents = ${AGENTS}\n${creds.authToml}${storeToml('always', `retain_completed_secs = ${RETAIN_SECS}\n`)}` });
  const client = createClient(server.port);
  const auth = { ...creds.bearer, 'Content-Type': 'application/json' };
  for (let k = 0; k < AGENTS; k++) await client.send('POST', '/v1/agents', auth, JSON.stringify({ name: `agent-${k}` }));
  // Each connection cycles through this list: 5 in 11 requests write.
  const mix: HttpRequestSpec[] = [];
  for (let k = 0; k < AGENTS; k++) {
    const a = `agent-${k}`;
    mix.push(
      { path: '/v1/status', headers: creds.bearer },
      { path: '/v1/status', headers: creds.bearer },
      { path: '/v1/status', headers: creds.bearer },
      { path: '/v1/backlog?limit=100', headers: creds.bearer },
      { method: 'POST', path: '/v1/backlog', headers: auth, body: JSON.stringify({ description: `soak task for ${a}`, tags: ['soak'] }) },
      REMOVE_ONE,
      { method: 'POST', path: '/v1/messages/send', headers: auth, body: JSON.stringify({ to: a, message: 'soak message' }) },
      { method: 'POST', path: `/v1/agents/${a}/inbox/next`, headers: creds.bearer },
      { path: `/v1/agents/${a}/inbox?limit=20`, headers: creds.bearer },
      { method: 'POST', path: `/v1/agents/${a}/heartbeat`, headers: auth, body: JSON.stringify({ state: 'working' }) },
      { path: '/health' },
    );
  }
  const tasks = async (): Promise<number> => {
    const s = JSON.parse((await client.send('GET', '/v1/status', creds.bearer)).body) as { tasks_by_state?: Record<string, number> };
    return Object.values(s.tasks_by_state ?? {}).reduce((a, b) => a + b, 0);
  };
  const rows: string[] = [];
  const windows = Math.max(1, Math.round(o.seconds / WINDOW_SECS));
  let warmRss = NaN;
  let firstRate = NaN;
  let lastRate = NaN;
  let endRss = NaN;
  for (let w = 0; w <= windows; w++) {
    const secs = w === 0 ? o.warmupSeconds : o.seconds / windows;
    const cpu = cpuSeconds(server.pid);
    const r = await runWrk({ port: server.port, load: { requests: mix, luaExtra: removeOldestLua(creds.bearer) }, connections: o.connections, seconds: secs, timeoutSecs: 10 });
    const cpuMicros = ((cpuSeconds(server.pid) - cpu) * 1e6) / Math.max(1, r.requests);
    const rss = rssBytes(server.pid);
    const n = await tasks();
    if (w === 0) warmRss = rss;
    endRss = rss;
    if (w === 1) firstRate = r.reqPerSec;
    lastRate = r.reqPerSec;
    const label = w === 0 ? `warm-up ${secs.toFixed(0)} s` : `${((w - 1) * secs).toFixed(0)}-${(w * secs).toFixed(0)} s`;
    rows.push(`| ${label} | ${r.reqPerSec.toFixed(0)} | ${cpuMicros.toFixed(1)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(1)} | ${r.non2xx + r.socketErrors} | ${(rss / 2 ** 20).toFixed(0)} | ${n} |`);
    o.log(rows[rows.length - 1]!);
  }
  client.close();
  await stopServer(server);
  console.log(`\nsoak: ${o.connections} connections, Bearer, durability "always", retain_completed_secs = ${RETAIN_SECS}, a mix of 11 requests (5 writes: backlog add and remove, message send and take, heartbeat) over ${AGENTS} agents\n`);
  console.log('| window | req/s | CPU us/req | p50 ms | p99 ms | non-2xx | RSS MiB | tasks in town |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  const growth = endRss / warmRss;
  console.log(`\nRSS at the end / after warm-up: ${growth.toFixed(2)} (target <= 1.10) ${growth <= 1.1 ? 'PASS' : 'FAIL'}`);
  console.log(`req/s in the last window / the first: ${(lastRate / firstRate).toFixed(2)}`);
}
