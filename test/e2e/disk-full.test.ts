// A really full disk, end to end: the data directory is a small tmpfs that the
// test fills. A running server keeps answering reads, refuses writes with 503
// store.unavailable, reports /health 503 "degraded", and heals on its own once
// space is freed; a server started on a full disk prints one line and leaves
// no lock file. Mounting needs root: without it these tests are skipped (the
// same behaviour is covered by fault injection in test/store/journal-faults).
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { coreRoutes } from '../../src/http/core-routes.js';
import { openJournalStore } from '../../src/store/journal-store.js';
import { sendRequest } from '../helpers/server.js';

interface Town {
  dir: string;
  data: string;
  cleanup(): Promise<void>;
}

/** A town directory whose store lives on a fresh tmpfs of `size`; undefined when mounting is not allowed. */
async function townOnTmpfs(size: string): Promise<Town | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-diskfull-'));
  const data = join(dir, 'data');
  await mkdir(data);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', data], { stdio: 'ignore' });
  } catch {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  await writeFile(join(dir, 'tinytown.toml'), 'name = "fulltown"\n[townhall.store]\npath = "data"\ndurability = "always"\n');
  return {
    dir,
    data,
    async cleanup() {
      execFileSync('umount', ['-l', data], { stdio: 'ignore' });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a filler file until the file system refuses; returns its path. */
async function fill(dir: string): Promise<string> {
  const filler = join(dir, 'filler');
  await writeFile(filler, Buffer.alloc(64 * 1024 * 1024)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOSPC') throw err;
  });
  return filler;
}

function spawnServer(dir: string): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOWNHALL_')));
  const child = spawn(process.execPath, ['bin/townhall.js', '--town', dir, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

async function listeningPort(server: ReturnType<typeof spawnServer>): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stderr());
    if (m) return Number(m[1]);
    if (server.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no listening line: ${server.stderr()}`);
}

async function stop(server: ReturnType<typeof spawnServer>): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGTERM');
  await server.exited;
}

test('/health answers 503 "degraded" while the store cannot write', async () => {
  let state: 'ok' | 'degraded' = 'degraded';
  const routes = coreRoutes({
    clock: { now: () => 0 },
    startedAt: 0,
    version: 'test',
    authMode: 'none',
    metrics: {} as never,
    town: {} as never,
    allRoutes: () => [],
    isReady: () => true,
    storeHealth: () => state,
  });
  const health = routes.find((r) => r.path === '/health')!;
  assert.deepEqual(await health.handler(), { status: 503, body: { status: 'degraded', store: 'degraded', uptime_secs: 0, url: null } });
  state = 'ok';
  assert.deepEqual(await health.handler(), { status: 200, body: { status: 'ok', uptime_secs: 0, url: null } });
});

test('a full disk: reads go on, writes answer 503, /health is degraded, and it all heals when space returns', { timeout: 60_000 }, async (t: TestContext) => {
  const town = await townOnTmpfs('512k');
  if (town === undefined) return t.skip('mounting a tmpfs needs root');
  const server = spawnServer(town.dir);
  try {
    const port = await listeningPort(server);
    const first = await sendRequest(port, 'POST', '/v1/backlog', { body: { description: 'before the disk filled' } });
    assert.equal(first.status, 201);

    const filler = await fill(town.data);
    // The journal's last page may still have room: write until the disk really refuses.
    const acked = ['before the disk filled'];
    let refused = await sendRequest(port, 'POST', '/v1/backlog', { body: { description: 'w0' } });
    for (let i = 1; refused.status === 201 && i < 1000; i++) {
      acked.push(`w${i - 1}`);
      refused = await sendRequest(port, 'POST', '/v1/backlog', { body: { description: `w${i}` } });
    }
    for (const r of [refused, await sendRequest(port, 'POST', '/v1/backlog', { body: { description: 'refused' } })]) {
      assert.equal(r.status, 503);
      assert.equal(r.json.type, 'https://townhall.dev/problems/store-unavailable');
    }
    const read = await sendRequest(port, 'GET', '/v1/backlog?limit=1000');
    assert.equal(read.status, 200, 'reads keep working');
    assert.deepEqual(read.json.backlog.map((task: { description: string }) => task.description), acked);
    const health = await sendRequest(port, 'GET', '/health');
    assert.equal(health.status, 503);
    assert.equal(health.json.status, 'degraded');
    assert.match(server.stderr(), /journal (write|fdatasync) failed .*\(ENOSPC\)/);

    await rm(filler);
    let healed = false;
    for (let i = 0; i < 200 && !healed; i++) {
      healed = (await sendRequest(port, 'GET', '/health')).status === 200;
      if (!healed) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(healed, '/health is ok again once space is freed, without a restart');
    assert.equal((await sendRequest(port, 'POST', '/v1/backlog', { body: { description: 'after' } })).status, 201);
    await stop(server);

    const store = await openJournalStore({ dir: town.data, durability: 'always', logger: { warn: () => {} } });
    const kept = await store.read((tx) => tx.list<{ description: string }>('tasks').map((task) => task.description));
    await store.close();
    assert.deepEqual(kept, [...acked, 'after'], 'exactly the acknowledged writes are on disk');
  } finally {
    await stop(server);
    await town.cleanup();
  }
});

test('starting on a full disk prints one line, no stack trace, and leaves no lock file', { timeout: 30_000 }, async (t: TestContext) => {
  const town = await townOnTmpfs('64k');
  if (town === undefined) return t.skip('mounting a tmpfs needs root');
  try {
    await fill(town.data);
    const server = spawnServer(town.dir);
    assert.equal(await server.exited, 1);
    const lines = server.stderr().trimEnd().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${server.stderr()}`);
    assert.match(lines[0]!, /^townhall: .*\(ENOSPC\)/);
    assert.doesNotMatch(server.stderr(), /\n\s+at /);
    assert.equal(existsSync(join(town.data, 'townhall.lock')), false);
    assert.deepEqual((await readdir(town.data)).sort(), ['filler']);
  } finally {
    await town.cleanup();
  }
});
