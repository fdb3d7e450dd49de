// The durability promise end to end: a server process takes a stream of
// writes, is SIGKILLed mid-stream, restarts on the same directory, and every
// write that got a 2xx is still there.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendRequest } from '../helpers/server.js';

function startServer(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOWNHALL_')));
  const child = spawn(process.execPath, ['bin/townhall.js', '--town', dir, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no listening line: ${err}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

test('every acknowledged write survives SIGKILL', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-crash-'));
  await writeFile(join(dir, 'tinytown.toml'), 'name = "crashtown"\n[townhall.store]\ndurability = "always"\n');
  const acked: string[] = [];
  const first = await startServer(dir);
  let killed = false;
  try {
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < 500 && !killed; i++) {
        try {
          const r = await sendRequest(first.port, 'POST', '/v1/backlog', { body: { description: `w${w}-${i}` } });
          if (r.status === 201) acked.push(r.json.task_id ?? r.json.id);
        } catch {
          return; // the connection died with the process
        }
        if (acked.length >= 300 && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    assert.ok(killed, 'the server was killed mid-stream');
    await new Promise((r) => (first.child.exitCode !== null || first.child.signalCode !== null ? r(null) : first.child.once('exit', r)));

    const second = await startServer(dir);
    try {
      const seen = new Set<string>();
      let cursor: string | null = null;
      do {
        const r = await sendRequest(second.port, 'GET', `/v1/backlog?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(r.status, 200);
        for (const t of r.json.backlog as Array<{ id: string }>) seen.add(t.id);
        cursor = r.json.next_cursor;
      } while (cursor !== null);
      const missing = acked.filter((id) => !seen.has(id));
      assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged writes lost`);
      assert.ok(seen.size >= acked.length);
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  } finally {
    if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
