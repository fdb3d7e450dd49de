// The JWKS source with a fake clock and a counting fetch: one fetch in flight
// shared by concurrent callers, at most one unknown-kid refetch per 30 s, a
// back-off after a failed fetch, stale keys kept when a refresh fails, and a
// discovered jwks_uri that must be https (or loopback) and match the issuer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { createJwksSource, JwksUnavailableError, type FetchJson } from '../../src/auth/jwks-source.js';

const ISSUER = 'https://id.example.com';

async function jwk(kid: string): Promise<JWK> {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg: 'ES256' };
}

function setup(docs: Record<string, unknown>, jwksUrl: string | null = `${ISSUER}/jwks`) {
  let now = 1_800_000_000_000;
  const calls: string[] = [];
  let release: (() => void) | null = null;
  let hold = false;
  const fetchJson: FetchJson = async (url) => {
    calls.push(url);
    if (hold) await new Promise<void>((r) => (release = r));
    const doc = docs[url];
    if (doc === undefined) throw new Error('HTTP 503');
    return doc;
  };
  const warnings: string[] = [];
  const source = createJwksSource({ issuer: ISSUER, jwksUrl, clock: { now: () => now }, log: { warn: (m) => warnings.push(m), info: () => undefined }, fetchJson });
  const header = (kid: string) => ({ alg: 'ES256', kid });
  const token = { payload: '', signature: '' } as never;
  return {
    source, calls, warnings,
    get: async (kid: string): Promise<unknown> => source.getKey(header(kid), token),
    advance: (ms: number) => (now += ms),
    holdFetches: () => (hold = true),
    releaseFetch: () => { hold = false; release?.(); },
  };
}

describe('createJwksSource', () => {
  test('concurrent first callers share one fetch', async () => {
    const t = setup({ [`${ISSUER}/jwks`]: { keys: [await jwk('a')] } });
    t.holdFetches();
    const all = Promise.all([t.get('a'), t.get('a'), t.get('a')]);
    await new Promise((r) => setImmediate(r));
    t.releaseFetch();
    await all;
    assert.equal(t.calls.length, 1);
  });

  test('unknown kids: one refetch per 30 s, however many', async () => {
    const doc = { keys: [await jwk('a')] };
    const t = setup({ [`${ISSUER}/jwks`]: doc });
    await t.get('a');
    t.advance(30_000);
    await Promise.all(Array.from({ length: 10 }, (_, i) => assert.rejects(t.get(`x${i}`), { code: 'ERR_JWKS_NO_MATCHING_KEY' })));
    assert.equal(t.calls.length, 2, 'one refetch for the whole burst');
    t.advance(29_999);
    await assert.rejects(t.get('y'), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    assert.equal(t.calls.length, 2);
    doc.keys.push(await jwk('y'));
    t.advance(1);
    await t.get('y');
    assert.equal(t.calls.length, 3, 'the rotated-in key is found by the next allowed refetch');
  });

  test('unreachable without keys: JwksUnavailableError with a retry time, after a 5 s back-off; logged', async () => {
    const docs: Record<string, unknown> = {};
    const t = setup(docs);
    await assert.rejects(t.get('a'), (e: unknown) => e instanceof JwksUnavailableError && e.retryAfterSecs === 5);
    await assert.rejects(t.get('a'), JwksUnavailableError);
    assert.equal(t.calls.length, 1, 'no new fetch inside the back-off');
    assert.match(t.warnings[0]!, /cannot fetch the signing keys from https:\/\/id\.example\.com\/jwks: HTTP 503/);
    docs[`${ISSUER}/jwks`] = { keys: [await jwk('a')] };
    t.advance(5_000);
    await t.get('a');
  });

  test('stale keys stay in use when the refresh fails', async () => {
    const docs: Record<string, unknown> = { [`${ISSUER}/jwks`]: { keys: [await jwk('a')] } };
    const t = setup(docs);
    await t.get('a');
    delete docs[`${ISSUER}/jwks`];
    t.advance(11 * 60_000);
    await t.get('a');
    assert.equal(t.calls.length, 2);
  });

  test('discovery: the jwks_uri must match the issuer and be https', async () => {
    const disc = `${ISSUER}/.well-known/openid-configuration`;
    const ok = setup({ [disc]: { issuer: ISSUER, jwks_uri: `${ISSUER}/k` }, [`${ISSUER}/k`]: { keys: [await jwk('a')] } }, null);
    await ok.get('a');
    assert.deepEqual(ok.calls, [disc, `${ISSUER}/k`]);
    const http = setup({ [disc]: { issuer: ISSUER, jwks_uri: 'http://id.example.com/k' } }, null);
    await assert.rejects(http.get('a'), JwksUnavailableError);
    assert.match(http.warnings[0]!, /not https/);
    const other = setup({ [disc]: { issuer: 'https://evil.example.com', jwks_uri: `${ISSUER}/k` } }, null);
    await assert.rejects(other.get('a'), JwksUnavailableError);
    assert.match(other.warnings[0]!, /another issuer/);
  });
});
