// A key made by auth-tool works against a server configured with its output,
// through the environment (--env) and through the tinytown.toml snippet.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { startTestServer } from '../helpers/server.js';

const run = promisify(execFile);

test('auth-tool --env output configures a server that accepts the key with its scopes', async () => {
  const { stdout } = await run(process.execPath, ['bin/auth-tool.js', '--env', '--scopes', 'town.read']);
  const env = Object.fromEntries(stdout.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const { API_TOKEN: token, API_KEY_ID: id, ...serverEnv } = env;
  assert.ok(token && id);
  const s = await startTestServer({ env: Object.fromEntries(Object.entries(serverEnv).filter(([k]) => k.startsWith('TOWNHALL_'))) });
  try {
    assert.equal((await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const basic = Buffer.from(`${id}:${token}`).toString('base64');
    assert.equal((await s.request('GET', '/v1/status', { headers: { authorization: `Basic ${basic}` } })).status, 200);
    const denied = await s.request('POST', '/v1/backlog', { headers: { authorization: `Bearer ${token}` }, body: { description: 'x' } });
    assert.equal(denied.status, 403);
  } finally {
    await s.close();
  }
});

test('the tinytown.toml snippet from auth-tool configures a working server', async () => {
  const { stdout } = await run(process.execPath, ['bin/auth-tool.js', '--scopes', 'town.read,town.write']);
  const token = /^API Key: (\S+)$/m.exec(stdout)?.[1];
  const snippet = stdout.slice(stdout.indexOf('[townhall.auth]'));
  assert.ok(token && snippet.includes('[[townhall.auth.keys]]'));
  const s = await startTestServer({ toml: snippet });
  try {
    const r = await s.request('POST', '/v1/backlog', { headers: { 'x-api-key': token }, body: { description: 'from the snippet' } });
    assert.equal(r.status, 201);
    assert.equal((await s.request('GET', '/v1/status', { headers: { 'x-api-key': `${token}x` } })).status, 401);
  } finally {
    await s.close();
  }
});
