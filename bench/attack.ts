// `node dist/bench/attack.js` (after `npm run build`): the attack mix of
// issue 8. A valid client (a cached key, 16 connections) measured alone and
// while (a) 200 connections pipeline GET /openapi.json without reading, and
// (b) wrong Bearer tokens flood in from 100 source addresses (client sockets
// bound to 127.0.0.10-109, so the per-address limiter does not simply block
// one flooder). Prints throughput and p99 and their ratios to the run alone,
// plus what a wrong Bearer costs with 1 and 5 keys and what a first
// (uncached) verification sees under the flood. Loopback only.
//
// BENCH_SECONDS (default 5) sets each measurement's length; BENCH_SELECTOR=0
// configures keys without `token_selector` (for comparing with older builds).
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken } from '../src/auth/argon2-hash.js';
import { tokenWithSelector } from '../src/auth/token-selector.js';
import { generateToken } from '../src/cli/random-token.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const SELECTOR = process.env['BENCH_SELECTOR'] !== '0';
const ROOT = new URL('../../', import.meta.url).pathname;

interface Server {
  port: number;
  child: ChildProcess;
  dir: string;
}

async function startTownhall(keyCount: number, authToml: string): Promise<Server & { tokens: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-attack-'));
  const tokens = Array.from({ length: keyCount }, (_, i) => (SELECTOR ? tokenWithSelector(`key-${i}`, 64, generateToken) : generateToken(64)));
  let toml = `name = "bench"\n[townhall.store]\ndurability = "none"\n[townhall.auth]\n${authToml}`;
  for (const [i, token] of tokens.entries()) {
    toml += `[[townhall.auth.keys]]\nid = "key-${i}"\nhash = "${await hashToken(token)}"\n${SELECTOR ? 'token_selector = true\n' : ''}`;
  }
  await writeFile(join(dir, 'tinytown.toml'), toml);
  const child = spawn(process.execPath, [join(ROOT, 'bin/townhall.js'), '--town', dir, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOWNHALL_'))),
  });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    child.stderr!.on('data', (c: Buffer) => {
      seen += c.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${seen}`)));
  });
  return { port, child, dir, tokens };
}

async function stop(s: Server): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
  await rm(s.dir, { recursive: true, force: true });
}

/** One GET /v1/status; resolves status and milliseconds. */
function get(port: number, headers: Record<string, string>, localAddress = '127.0.0.1', agent?: Agent): Promise<{ status: number; ms: number; body: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/status', headers, localAddress, ...(agent ? { agent } : { agent: false }) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.length < 2048 ? c.toString() : ''));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body }));
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0, body: '' }));
    req.end();
  });
}

/** The server's count of Argon2 verifications so far. */
function argon2Runs(port: number): Promise<number> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(Number(/^townhall_argon2_verifications_total (\d+)/m.exec(text)?.[1] ?? NaN)));
    }).end();
  });
}

/** Mean ms and Argon2 runs of sequential wrong Bearers (distinct, so neither cache helps). */
async function wrongBearerCost(keyCount: number): Promise<{ ms: number; runs: number }> {
  const s = await startTownhall(keyCount, 'max_failed_attempts_per_minute = 1000000\nargon2_max_concurrency = 1\n');
  try {
    const n = 20;
    let total = 0;
    await get(s.port, { authorization: `Bearer ${generateToken(64)}` }); // warm up
    const before = await argon2Runs(s.port);
    for (let i = 0; i < n; i++) total += (await get(s.port, { authorization: `Bearer ${generateToken(64)}` })).ms;
    return { ms: total / n, runs: ((await argon2Runs(s.port)) - before) / n };
  } finally {
    await stop(s);
  }
}

/** 200 sockets writing pipelined GET /openapi.json and never reading. */
function startPipeliners(port: number): () => void {
  const sockets: Socket[] = [];
  const request = 'GET /openapi.json HTTP/1.1\r\nHost: bench\r\n\r\n'.repeat(32);
  let running = true;
  for (let i = 0; i < 200; i++) {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.pause(); // never read
    const pump = (): void => {
      if (!running || socket.destroyed) return;
      if (socket.write(request)) setTimeout(pump, 5);
      else socket.once('drain', pump);
    };
    socket.on('connect', pump);
    sockets.push(socket);
  }
  return () => {
    running = false;
    for (const s of sockets) s.destroy();
  };
}

/** Wrong Bearers from 100 source addresses, 2 in flight each. */
function startFlood(port: number): { stop: () => void; counts: Map<number, number> } {
  let running = true;
  const counts = new Map<number, number>();
  for (let a = 10; a < 110; a++) {
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const loop = async (): Promise<void> => {
      while (running) {
        const r = await get(port, { authorization: `Bearer ${generateToken(64)}` }, `127.0.0.${a}`, agent);
        counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
        if (r.status === 0 || r.status === 429) await new Promise((res) => setTimeout(res, 50));
      }
      agent.destroy();
    };
    void loop();
    void loop();
  }
  return { stop: () => void (running = false), counts };
}

async function validClient(port: number, token: string): Promise<{ rps: number; p99: number; non2xx: number }> {
  const r = await autocannon({ url: `http://127.0.0.1:${port}/v1/status`, connections: 16, duration: SECONDS, headers: { authorization: `Bearer ${token}` } });
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx };
}

/** Runs an attacker (`pipeline` or `flood`) in its own process, so it does not share the measuring client's event loop. */
function startAttacker(role: 'pipeline' | 'flood', port: number): { stop: () => Promise<string> } {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, `--role=${role}`, `--port=${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  return {
    stop: async () => {
      // The server may have closed every socket of the attacker already, and it may have ended.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      return out.trim();
    },
  };
}

async function runAttacker(role: string, port: number): Promise<void> {
  // Stay up until told to stop, even when the server has closed every socket.
  setInterval(() => undefined, 1000);
  if (role === 'pipeline') {
    const stop = startPipeliners(port);
    process.once('SIGTERM', () => {
      stop();
      process.exit(0);
    });
    return;
  }
  const flood = startFlood(port);
  process.once('SIGTERM', () => {
    flood.stop();
    console.log([...flood.counts].map(([k, v]) => `${k}:${v}`).join(' '));
    process.exit(0);
  });
}

async function main(): Promise<void> {
  console.log(`attack bench: ${SECONDS}s per measurement, keys ${SELECTOR ? 'with' : 'without'} token_selector`);
  const one = await wrongBearerCost(1);
  const five = await wrongBearerCost(5);
  console.log(
    `wrong Bearer: 1 key ${one.ms.toFixed(1)} ms (${one.runs} Argon2 runs), 5 keys ${five.ms.toFixed(1)} ms (${five.runs} runs); ratio ${(five.ms / one.ms).toFixed(2)}`,
  );
  if (process.env['BENCH_COST_ONLY'] === '1') return;

  const s = await startTownhall(5, '');
  try {
    const valid = s.tokens[0]!;
    await get(s.port, { authorization: `Bearer ${valid}` }); // cache it
    const alone = await validClient(s.port, valid);
    const pipe = startAttacker('pipeline', s.port);
    await new Promise((r) => setTimeout(r, 1000));
    const piped = await validClient(s.port, valid);
    await pipe.stop();
    const flood = startAttacker('flood', s.port);
    await new Promise((r) => setTimeout(r, 5000));
    // First verifications of keys not yet cached, each from its own address, while the flood runs.
    const firsts: Array<{ status: number; ms: number; body: string }> = [];
    for (const [i, t] of s.tokens.slice(1).entries()) firsts.push(await get(s.port, { authorization: `Bearer ${t}` }, `127.0.1.${i + 1}`));
    const flooded = await validClient(s.port, valid);
    const floodCounts = await flood.stop();
    const row = (name: string, m: { rps: number; p99: number; non2xx: number }): string =>
      `${name.padEnd(36)} ${m.rps.toFixed(0).padStart(7)} req/s  p99 ${String(m.p99).padStart(4)} ms  non2xx ${m.non2xx}` +
      `  ratio ${(m.rps / alone.rps).toFixed(2)} / p99 x${(m.p99 / Math.max(1, alone.p99)).toFixed(1)}`;
    console.log(row('valid client alone', alone));
    console.log(row('  + 200 pipelining, not reading', piped));
    console.log(row('  + wrong keys from 100 addresses', flooded));
    console.log(`flood answers (status:count): ${floodCounts}`);
    console.log(`first verification of 4 uncached keys under the flood: ${firsts.map((f) => `${f.status}${f.status === 200 ? '' : ` (${/"title":"([^"]*)"/.exec(f.body)?.[1] ?? '?'})`} in ${f.ms.toFixed(0)} ms`).join(', ')}`);
  } finally {
    await stop(s);
  }
}

const role = process.argv.find((a) => a.startsWith('--role='))?.slice(7);
if (role === undefined) await main();
else await runAttacker(role, Number(process.argv.find((a) => a.startsWith('--port='))?.slice(7)));
