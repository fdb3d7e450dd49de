// An acknowledged mutation's audit line reaches stdout even when the process
// dies in the same event-loop turn as the answer (audit lines are batched to
// the end of the turn): by an uncaught exception, an unhandled rejection or
// process.exit, or a second stop signal. The child is the real command with a fault injected
// (test/helpers/throw-after-ack.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sendRequest } from '../helpers/server.js';

const CHILD = join('dist', 'test', 'helpers', 'throw-after-ack.js');

async function crashAfterAck(how: string): Promise<{ requestId: string; stdout: string; code: number | string | null }> {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-crash-audit-'));
  await writeFile(join(dir, 'tinytown.toml'), '[townhall.store]\ndurability = "none"\n');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOWNHALL_')));
  const child = spawn(process.execPath, [CHILD, '201', how, '--town', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  try {
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const closed = new Promise<number | string | null>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal)));
    const port = await new Promise<number>((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${stderr}`)));
    });
    const r = await sendRequest(port, 'POST', '/v1/backlog', { body: { description: 'acknowledged, then the process dies' } });
    assert.equal(r.status, 201);
    const requestId = String(r.headers['x-request-id']);
    // 'close' comes after the child's stdout has drained.
    const code = await closed;
    return { requestId, stdout, code };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

for (const [how, code] of [['throw', 1], ['reject', 1], ['exit', 3], ['sigterm-twice', 'SIGTERM']] as const) {
  test(`the audit line of an acknowledged write survives ${how} in the same turn`, { timeout: 20_000 }, async () => {
    const out = await crashAfterAck(how);
    assert.equal(out.code, code, 'the process died of the injected fault (an exit code or a signal)');
    const line = out.stdout.split('\n').find((l) => l.includes(`request_id=${out.requestId}`) || l.includes(`request_id="${out.requestId}"`));
    assert.ok(line !== undefined, `no audit line for ${out.requestId} on stdout: ${JSON.stringify(out.stdout)}`);
    assert.match(line, /operation=("?)backlog\.add\1/);
  });
}
