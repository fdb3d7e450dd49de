// The per-connection memo of a proved credential: it spares the keyed hash on a
// keep-alive connection repeating its header, and nothing else: another token,
// another connection, an expired key or an old memo all go the long way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKeyVerifier } from '../../src/auth/api-keys.js';
import { createArgon2Gate } from '../../src/auth/argon2-gate.js';
import { TINYTOWN_HASH, TINYTOWN_KEY } from '../helpers/server.js';

async function setup(expiresAt: number | null = null) {
  let now = 1_000_000;
  let argon2 = 0;
  let hits = 0;
  const verifier = await createApiKeyVerifier({
    keys: [{ id: 'k', named: true, hash: TINYTOWN_HASH, scopes: ['admin'], expiresAt, disabled: false, tokenSelector: false }],
    clock: { now: () => now },
    cacheTtlMs: 300_000,
    gate: createArgon2Gate(1, 8),
    onArgon2: () => argon2++,
    onCacheHit: () => hits++,
  });
  return { verifier, advance: (ms: number) => void (now += ms), counts: () => ({ argon2, hits }) };
}

test('a connection repeating its proved token is answered from its memo; another token is not', async () => {
  const { verifier } = await setup();
  const socket = {};
  const first = await verifier.verifyApiKey({ kind: 'bearer', token: TINYTOWN_KEY }, '127.0.0.1', socket);
  assert.equal(first.ok, true);
  const second = verifier.verifyApiKey({ kind: 'bearer', token: TINYTOWN_KEY }, '127.0.0.1', socket);
  assert.ok(!(second instanceof Promise) && second.ok, 'the verified cache remembered it for this connection');
  const third = verifier.verifyApiKey({ kind: 'bearer', token: TINYTOWN_KEY }, '127.0.0.1', socket);
  assert.ok(!(third instanceof Promise) && third.ok);
  const wrong = await verifier.verifyApiKey({ kind: 'bearer', token: `${TINYTOWN_KEY.slice(0, -1)}0` }, '127.0.0.1', socket);
  assert.equal(wrong.ok, false, 'a different token on the same connection is verified, not taken from the memo');
  const basicSameSecret = await verifier.verifyApiKey({ kind: 'basic', keyId: 'nope', token: TINYTOWN_KEY }, '127.0.0.1', socket);
  assert.equal(basicSameSecret.ok, false, 'the memo is per credential kind and key id');
});

test('the memo never outlives the key: expiry is checked on every request', async () => {
  const { verifier, advance } = await setup(1_000_000 + 500);
  const socket = {};
  assert.equal((await verifier.verifyApiKey({ kind: 'x-api-key', token: TINYTOWN_KEY }, 'a', socket)).ok, true);
  assert.equal((await verifier.verifyApiKey({ kind: 'x-api-key', token: TINYTOWN_KEY }, 'a', socket)).ok, true);
  advance(600);
  const after = await verifier.verifyApiKey({ kind: 'x-api-key', token: TINYTOWN_KEY }, 'a', socket);
  assert.deepEqual(after, { ok: false, reason: 'expired' });
});
