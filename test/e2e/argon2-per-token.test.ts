// A wrong Bearer / X-API-Key costs at most one Argon2 verification however
// many keys are configured (issue 8, item 8): tokens made for a key carry that
// key's selector, so the server tries that key's hash only, and a token whose
// selector names no key costs one (dummy) verification too. Tokens without a
// selector keep working against keys not marked `token_selector = true`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashToken } from '../../src/auth/argon2-hash.js';
import { selectorForKeyId, tokenWithSelector } from '../../src/auth/token-selector.js';
import { generateToken } from '../../src/cli/random-token.js';
import { metric } from '../helpers/assertions.js';
import { parseAuditLine, startTestServer, type TestServer } from '../helpers/server.js';

const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
const IDS = ['k1', 'k2', 'k3', 'k4', 'k5'];
const TOKENS = IDS.map((id) => tokenWithSelector(id, 64, generateToken));
const LEGACY_TOKEN = 'legacyTokenWithoutAnySelectorAtAll0123456789abcdef';

async function argon2Runs(s: TestServer, headers: Record<string, string>, expectStatus: number): Promise<number> {
  const count = async (): Promise<number> => metric((await s.request('GET', '/metrics')).text, 'townhall_argon2_verifications_total');
  const before = await count();
  assert.equal((await s.request('GET', '/v1/status', { headers })).status, expectStatus);
  return (await count()) - before;
}

describe('five keys, all with selector tokens', () => {
  let s: TestServer;
  before(async () => {
    let toml = '[townhall.auth]\nallow_weak_hashes = true\nmax_failed_attempts_per_minute = 1000\n';
    for (const [i, id] of IDS.entries()) toml += `[[townhall.auth.keys]]\nid = "${id}"\nhash = "${await hashToken(TOKENS[i]!, CHEAP)}"\ntoken_selector = true\n`;
    s = await startTestServer({ toml });
  });
  after(() => s.close());

  test('a right token with its selector: one verification', async () => {
    assert.equal(await argon2Runs(s, { authorization: `Bearer ${TOKENS[4]}` }, 200), 1);
  });

  test("a wrong token with a key's selector: one verification, not five", async () => {
    const wrong = selectorForKeyId('k3') + generateToken(56);
    assert.equal(await argon2Runs(s, { authorization: `Bearer ${wrong}` }, 401), 1);
    assert.equal(await argon2Runs(s, { 'x-api-key': selectorForKeyId('k1') + generateToken(56) }, 401), 1);
  });

  test('a token whose selector names no key costs the same one verification (no selector oracle)', async () => {
    assert.equal(await argon2Runs(s, { authorization: `Bearer ${generateToken(64)}`, 'x-request-id': 'unk-sel' }, 401), 1);
    assert.equal(parseAuditLine(s.audit.find((l) => l.includes('unk-sel'))!)['reason'], 'unknown_key');
  });

  test('a token not of the selector form costs one verification', async () => {
    assert.equal(await argon2Runs(s, { authorization: 'Bearer short-wrong-token' }, 401), 1);
  });

  test("a key's token under another key's selector is refused", async () => {
    const swapped = selectorForKeyId('k2') + TOKENS[0]!.slice(8);
    assert.equal(await argon2Runs(s, { authorization: `Bearer ${swapped}` }, 401), 1);
  });
});

describe('keys without token_selector keep working with tokens without a selector', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      toml:
        '[townhall.auth]\nallow_weak_hashes = true\nmax_failed_attempts_per_minute = 1000\n' +
        `[[townhall.auth.keys]]\nid = "old"\nhash = "${await hashToken(LEGACY_TOKEN, CHEAP)}"\n` +
        `[[townhall.auth.keys]]\nid = "k1"\nhash = "${await hashToken(TOKENS[0]!, CHEAP)}"\ntoken_selector = true\n` +
        `[[townhall.auth.keys]]\nid = "k2"\nhash = "${await hashToken(TOKENS[1]!, CHEAP)}"\ntoken_selector = true\n`,
    });
  });
  after(() => s.close());

  test('the legacy token verifies; a wrong one costs one run per key without token_selector (here 1), not 3', async () => {
    assert.equal((await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${LEGACY_TOKEN}` } })).status, 200);
    assert.equal(await argon2Runs(s, { authorization: `Bearer ${generateToken(64)}` }, 401), 1);
    assert.equal(await argon2Runs(s, { authorization: `Bearer ${TOKENS[1]}` }, 200), 1);
  });
});
