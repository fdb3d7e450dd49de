// The Argon2 gate is shared out by client address (issue 8, item 8): while one
// address floods wrong tokens past the queue, a client on another address
// still gets its first (uncached) verification; the flood's 503s are audited.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { parseAuditLine, startTestServer, TINYTOWN_HASH, TINYTOWN_KEY, type TestServer } from '../helpers/server.js';

/** GET /v1/status from a chosen loopback source address. */
function statusFrom(s: TestServer, localAddress: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.port, path: '/v1/status', localAddress, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test("a flood of wrong tokens from one address does not starve another address's first verification", async () => {
  const s = await startTestServer({
    toml: `[townhall.auth]\nargon2_max_concurrency = 1\nargon2_max_queue = 8\nmax_failed_attempts_per_minute = 1000\n[[townhall.auth.keys]]\nid = "k"\nhash = "${TINYTOWN_HASH}"\n`,
  });
  try {
    let firstShed: () => void = () => undefined;
    const shed = new Promise<void>((r) => (firstShed = r));
    const flood = Array.from({ length: 30 }, (_, i) =>
      statusFrom(s, '127.0.0.1', { authorization: `Bearer flood-${i}`, 'x-request-id': `flood-${i}` }).then((code) => {
        if (code === 503) firstShed();
        return code;
      }),
    );
    // The queue is as full as the flood can make it once its first request is shed.
    await shed;
    assert.equal(await statusFrom(s, '127.0.0.2', { 'x-api-key': TINYTOWN_KEY }), 200);
    const codes = await Promise.all(flood);
    assert.ok(codes.includes(503) && codes.includes(401), codes.join(','));
    // The shed requests are audited, like every refusal.
    const busy = s.audit.map(parseAuditLine).filter((f) => f['status'] === '503' && (f['request_id'] ?? '').length > 0);
    assert.equal(busy.length, codes.filter((c) => c === 503).length);
    assert.ok(busy.every((f) => f['reason'] === 'busy'), JSON.stringify(busy[0]));
  } finally {
    await s.close();
  }
});
