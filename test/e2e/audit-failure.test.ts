// If the audit log (stdout) cannot be written, the server stops with exit
// code 1 and says why, instead of crashing or serving unaudited mutations.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendRequest } from '../helpers/server.js';

test('an unwritable audit log stops the server with exit code 1', { timeout: 20_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-audit-'));
  await writeFile(join(dir, 'tinytown.toml'), '[townhall.store]\ndurability = "none"\n');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOWNHALL_')));
  const child = spawn(process.execPath, ['bin/townhall.js', '--town', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  try {
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdout.destroy(); // the reader of the audit log goes away
    for (let i = 0; i < 20 && child.exitCode === null; i++) {
      await sendRequest(port, 'POST', '/v1/backlog', { body: { description: `audited ${i}` } }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await exited, 1);
    assert.match(stderr, /audit log \(stdout\) cannot be written \(EPIPE\)/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
