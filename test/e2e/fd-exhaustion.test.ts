// Issue 8 item 3 end to end: a server whose descriptor table is full (a low
// `ulimit -n`, filled by connections sending headers slowly) cannot write its
// snapshot (EMFILE). That compaction failure must not take the store down:
// writes on an open connection keep being acknowledged, reads keep working,
// and once descriptors are free again /health is ok and compaction succeeds.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendRequest } from '../helpers/server.js';

// Enough for start-up (the ES module loader opens files in parallel), few enough to fill fast.
const FD_LIMIT = 256;

/** One request over `agent` (a single kept-alive connection opened before the table filled). */
function post(agent: Agent, port: number, description: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ description });
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/v1/backlog', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Resolves true if a fresh connection gets an answer to GET /health, false if it is dropped unanswered. */
function answered(port: number, keep: Socket[]): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString();
      if (text.includes('\r\n\r\n')) {
        keep.push(socket); // kept alive: it holds a descriptor too
        resolve(true);
      }
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(text !== ''));
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

test('EMFILE during compaction never stops the store', { timeout: 60_000, skip: process.platform !== 'linux' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-emfile-'));
  await writeFile(
    join(dir, 'tinytown.toml'),
    'name = "fdtown"\n[townhall]\nrequest_timeout_ms = 60000\n[townhall.store]\ndurability = "always"\ncompact_after_bytes = 4096\n',
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOWNHALL_')));
  const child = spawn('/bin/sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" bin/townhall.js --town "$1" --port 0 --verbose`, process.execPath, dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const sockets: Socket[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    let port = 0;
    for (let i = 0; i < 500 && port === 0; i++) {
      port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1] ?? 0);
      if (port === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(port > 0, `server did not start: ${stderr}`);
    assert.equal(await post(agent, port, 'first'), 201);

    // Fill the descriptor table: slow-header connections until a new one goes unanswered.
    let full = false;
    for (let round = 0; round < 40 && !full; round++) {
      for (let i = 0; i < 16; i++) {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => {});
        s.write('GET /health HTTP/1.1\r\n');
        sockets.push(s);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      full = !(await answered(port, sockets));
    }
    assert.ok(full, 'the descriptor table filled');

    // Writes on the open connection push the journal past compact_after_bytes: the snapshot fails.
    let n = 0;
    for (; n < 200 && !/compacting .* failed \(EMFILE\)/.test(stderr); n++) {
      assert.equal(await post(agent, port, `while full ${n} ${'x'.repeat(200)}`), 201, 'writes keep being acknowledged');
    }
    assert.match(stderr, /compacting .* failed \(EMFILE\); the store keeps working/);
    assert.equal(await post(agent, port, 'after the failure'), 201);

    for (const s of sockets) s.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const health = await sendRequest(port, 'GET', '/health');
    assert.equal(health.status, 200, '/health is ok: the store never stopped');
    const backlog = await sendRequest(port, 'GET', '/v1/backlog?limit=1000');
    assert.equal(backlog.status, 200);
    assert.equal(backlog.json.backlog.length, n + 2);
    // Compaction is retried after its backoff, on a later flush.
    for (let i = 0; i < 100 && !/compacted /.test(stderr); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await post(agent, port, `later ${i}`), 201);
    }
    assert.match(stderr, /compacted .* into a snapshot/);
  } finally {
    agent.destroy();
    for (const s of sockets) s.destroy();
    if (child.exitCode === null) child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    await rm(dir, { recursive: true, force: true });
  }
});
