// The audit log must not be dropped nor buffered without bound: while stdout
// is behind, operations are refused with 503 + Retry-After; liveness still
// answers; service resumes by itself once it drains. Denial floods are
// summarised instead of written line by line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAuditLine, sendRequest, startTestServer, TINYTOWN_HASH, type TestServer } from '../helpers/server.js';

const ROOT = resolve(import.meta.dirname, '../../..');

describe('audit backlog', () => {
  let s: TestServer;
  let backlog = 0;
  before(async () => {
    s = await startTestServer({ auditBacklog: () => backlog });
  });
  after(() => s.close());

  test('operations get 503 with Retry-After while the audit sink is behind, /health still answers, then it recovers', async () => {
    backlog = 64 * 1024 * 1024;
    const refused = await s.request('POST', '/v1/backlog', { body: { description: 'x' } });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal((await s.request('GET', '/v1/status')).status, 503);
    assert.equal((await s.request('GET', '/health')).status, 200);
    assert.ok(s.logs.some((l) => /audit log \(stdout\) is not keeping up/.test(l)));
    backlog = 0;
    assert.equal((await s.request('POST', '/v1/backlog', { body: { description: 'x' } })).status, 201);
  });
});

describe('denial floods in the audit log', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ toml: `[townhall.auth]\nmode = "api_key"\napi_key_hash = "${TINYTOWN_HASH}"\nmax_failed_attempts_per_minute = 100000\n` });
  });
  after(() => s.close());

  test('300 keyless requests from one address write at most 100 lines now and a summary at shutdown', async () => {
    for (let i = 0; i < 300; i++) assert.equal((await s.request('GET', '/v1/status')).status, 401);
    const denied = s.audit.filter((l) => l.includes('status=401'));
    assert.equal(denied.length, 100);
    await s.townhall.close(500);
    const summary = s.audit.map(parseAuditLine).find((l) => l['msg'] === 'denials suppressed');
    assert.equal(summary?.['suppressed'], '200');
  });
});

describe('a stalled stdout, end to end', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'townhall-stall-'));
    await writeFile(join(dir, 'tinytown.toml'), '[townhall.store]\ndurability = "none"\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a server whose audit reader stopped reading refuses work instead of growing', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/townhall.js'), '--town', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      child.stdout.pause(); // the audit reader is stuck
      const port = await new Promise<number>((resolvePort, reject) => {
        let seen = '';
        child.stderr.on('data', (d: Buffer) => {
          seen += d.toString();
          const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
          if (m) resolvePort(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${seen}`)));
      });
      // Each POST to an unknown ~7.5 KB path writes an audit line that long: 4 MiB of them fill the allowance.
      const longPath = `/${'s'.repeat(500)}`.repeat(15);
      let refused = 0;
      for (let i = 0; i < 1500 && refused === 0; i++) {
        const r = await sendRequest(port, 'POST', `${longPath}/${i}`);
        if (r.status === 503) refused++;
        else assert.equal(r.status, 404);
      }
      assert.equal(refused, 1, 'operations are refused once the audit backlog passes its limit');
      assert.equal((await sendRequest(port, 'GET', '/health')).status, 200);
      child.stdout.resume();
      child.stdout.on('data', () => undefined);
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        ok = (await sendRequest(port, 'POST', '/v1/backlog', { body: { description: 'after' } })).status === 201;
        if (!ok) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(ok, 'service resumes once the audit log drains');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
