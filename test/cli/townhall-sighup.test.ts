// SIGHUP against the real launcher (`node bin/townhall.js`): it reloads
// instead of killing the server. The certificate files are replaced and a
// SIGHUP sent: a new connection sees the new certificate while an open
// keep-alive connection keeps working; a broken file is refused and logged,
// and the server goes on serving; SIGTERM still stops it cleanly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpsRequest, keepAliveAgent } from '../helpers/https-client.js';
import { issue, makeCa, type Ca } from '../helpers/pki.js';
import { TINYTOWN_HASH, TINYTOWN_KEY } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'townhall.js');
const CLEAN_ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOWNHALL_')));

let dir = '';
let ca: Ca;
let child: ChildProcessWithoutNullStreams | null = null;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'townhall-hup-'));
  ca = makeCa(dir, 'ca');
});
after(() => {
  if (child !== null && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves when `read()` matches, polling; fails after 10 s. */
async function waitFor(read: () => string, pattern: RegExp, what: string): Promise<RegExpMatchArray> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = read().match(pattern);
    if (m !== null) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr so far:\n${read()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('SIGHUP swaps the certificate for new connections, keeps open ones, refuses a broken file, and does not stop the server', async () => {
  const first = issue(ca, 'server-1', { server: true });
  const live = { cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
  copyFileSync(first.certPath, live.cert);
  copyFileSync(first.keyPath, live.key);
  const toml =
    `[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\n` +
    `[townhall.tls]\nenabled = true\ncert_file = "server.pem"\nkey_file = "server.key"\n[townhall.store]\ndurability = "none"\n`;
  writeFileSync(join(dir, 'tinytown.toml'), toml);
  const proc = spawn(process.execPath, [BIN, '--town', dir, '--port', '0'], { cwd: dir, env: CLEAN_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
  child = proc;
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  proc.stdout.resume();
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  const agent = keepAliveAgent(ca.cert);
  try {
    const port = Number((await waitFor(() => stderr, /listening on https:\/\/127\.0\.0\.1:(\d+) /, 'the listening line'))[1]);
    const headers = { authorization: `Bearer ${TINYTOWN_KEY}` };
    const before = await httpsRequest(port, '/v1/status', { ca: ca.cert, agent, headers });
    assert.equal(before.status, 200);

    const second = issue(ca, 'server-2', { server: true });
    copyFileSync(second.certPath, live.cert);
    copyFileSync(second.keyPath, live.key);
    proc.kill('SIGHUP');
    await waitFor(() => stderr, /INFO townhall: reloaded the configuration \(SIGHUP\)/, 'the reload line');
    const fresh = await httpsRequest(port, '/health', { ca: ca.cert });
    assert.notEqual(fresh.serverFingerprint, before.serverFingerprint);
    const kept = await httpsRequest(port, '/v1/status', { ca: ca.cert, agent, headers });
    assert.equal(kept.status, 200);
    assert.equal(kept.localPort, before.localPort);
    assert.equal(kept.serverFingerprint, before.serverFingerprint);

    writeFileSync(live.key, 'not a key\n');
    proc.kill('SIGHUP');
    await waitFor(() => stderr, /ERROR townhall: reload \(SIGHUP\) refused, the running configuration is unchanged: \[townhall\.tls\] key_file: not a PEM private key/, 'the refusal');
    const still = await httpsRequest(port, '/health', { ca: ca.cert });
    assert.equal(still.serverFingerprint, fresh.serverFingerprint, 'the last good certificate stays');
    assert.equal(proc.exitCode, null, 'still running');

    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    agent.destroy();
  }
});
