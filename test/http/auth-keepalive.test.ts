// A keep-alive connection changing its credential between requests is judged
// on what it sends now: the per-connection memos (parsed header, proved key)
// never answer for a header they were not made from.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, test } from 'node:test';
import { hashToken } from '../../src/auth/argon2-hash.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
const ADMIN_TOKEN = 'adminTokenAdminTokenAdminToken0123456789';
const basic = (id: string, token: string): string => `Basic ${Buffer.from(`${id}:${token}`).toString('base64')}`;

let s: TestServer;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
before(async () => {
  s = await startTestServer({
    toml: `[townhall.auth]\nallow_weak_hashes = true\n[[townhall.auth.keys]]\nid = "admin"\nhash = "${await hashToken(ADMIN_TOKEN, CHEAP)}"\n`,
  });
});
after(async () => {
  agent.destroy();
  await s.close();
});

function get(authorization: string): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.port, path: '/v1/status', agent, headers: { authorization } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('one connection: right, wrong, other id, right again: each judged on its own header', async () => {
  const right = basic('admin', ADMIN_TOKEN);
  assert.equal((await get(right)).status, 200);
  const again = await get(right);
  assert.deepEqual(again, { status: 200, reused: true });
  assert.deepEqual(await get(basic('admin', `${ADMIN_TOKEN.slice(0, -1)}x`)), { status: 401, reused: true });
  assert.deepEqual(await get(basic('nobody', ADMIN_TOKEN)), { status: 401, reused: true });
  assert.deepEqual(await get('Basic !!!'), { status: 401, reused: true });
  assert.deepEqual(await get(right), { status: 200, reused: true });
});
