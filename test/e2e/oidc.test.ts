// Mode oidc through real sockets, against a JWKS/discovery server on loopback
// with keys made in the test run: every token check, the RFC 6750 answers,
// scopes, JWKS caching and refetch limits, the provider being down, and
// accept_api_keys. The server's clock is fake, so the 30 s refetch rule is
// tested without waiting.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportSPKI, SignJWT } from 'jose';
import { startTestIdp, type SigningKey, type TestIdp } from '../helpers/idp.js';
import { metric } from '../helpers/assertions.js';
import { parseAuditLine, startTestServer, TINYTOWN_HASH, TINYTOWN_KEY, type TestServer } from '../helpers/server.js';

const AUDIENCE = 'townhall';

function oidcToml(idp: TestIdp, extra = ''): string {
  return `[townhall.auth]\nmode = "oidc"\nissuer = "${idp.issuer}"\naudience = "${AUDIENCE}"\nmax_failed_attempts_per_minute = 1000\n${extra}`;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('mode oidc', () => {
  let idp: TestIdp;
  let s: TestServer;
  let key: SigningKey;
  let now = Date.now();
  const clock = { now: () => now };
  const get = (token: string, id: string, path = '/v1/status'): ReturnType<TestServer['request']> =>
    s.request('GET', path, { headers: { authorization: `Bearer ${token}`, 'x-request-id': id } });
  const audit = (id: string): Record<string, string> => parseAuditLine(s.audit.find((l) => l.includes(`request_id="${id}"`))!);

  async function refused(token: string, id: string, reason: string): Promise<void> {
    const r = await get(token, id);
    assert.equal(r.status, 401, `${id}: ${r.text}`);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="townhall", error="invalid_token"');
    assert.equal(r.json.detail, 'A valid access token is required.');
    const line = audit(id);
    assert.equal(line['reason'], reason, id);
    assert.equal(line['auth'], 'oidc');
  }

  before(async () => {
    idp = await startTestIdp(AUDIENCE);
    key = await idp.newKey('k1', 'ES256');
    idp.published.push(key, await idp.newKey('k-rsa', 'RS256'));
    // No jwks_url: found by discovery.
    s = await startTestServer({ clock, toml: oidcToml(idp, 'required_scopes = ["townhall"]\nclock_skew_seconds = 60\n') });
  });
  after(async () => {
    await s.close();
    await idp.close();
  });

  test('a valid token: 200 as oidc:<sub> with the scopes of its scope claim; keys found by discovery, fetched once', async () => {
    const token = await idp.token(key, { scope: 'townhall town.read town.write' }, now);
    assert.equal((await get(token, 'ok-1')).status, 200);
    const post = await s.request('POST', '/v1/backlog', { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'ok-2' }, body: { description: 'x' } });
    assert.equal(post.status, 201);
    const line = audit('ok-2');
    assert.deepEqual([line['principal'], line['scopes'], line['auth']], ['oidc:user-1', 'town.read,town.write', 'oidc']);
    assert.equal(idp.hits['/.well-known/openid-configuration'], 1);
    assert.equal(idp.hits['/jwks'], 1);
    assert.equal((await get(token, 'ok-3')).status, 200);
    assert.equal(idp.hits['/jwks'], 1, 'cached');
  });

  test('scp as an array; RS256 keys; aud as an array', async () => {
    const rsa = idp.published[1]!;
    const token = await idp.token(rsa, { scope: undefined, scp: ['townhall', 'town.read'], aud: ['other', AUDIENCE] }, now);
    assert.equal((await get(token, 'scp-1')).status, 200);
  });

  test('a token without Townhall scopes gets none (no implicit admin)', async () => {
    const r = await get(await idp.token(key, { scope: 'townhall' }, now), 'noscope');
    assert.equal(r.status, 403);
    assert.equal(r.json.required_scope, 'town.read');
  });

  test('expired, not yet valid, issued in the future: 401 invalid_token; inside the skew: accepted', async () => {
    const t = Math.floor(now / 1000);
    await refused(await idp.token(key, { scope: 'townhall town.read', exp: t - 61 }, now), 'exp-1', 'token_expired');
    assert.equal((await get(await idp.token(key, { scope: 'townhall town.read', exp: t - 30 }, now), 'exp-skew')).status, 200);
    await refused(await idp.token(key, { scope: 'townhall town.read', nbf: t + 120 }, now), 'nbf-1', 'token_not_yet_valid');
    await refused(await idp.token(key, { scope: 'townhall town.read', iat: t + 120 }, now), 'iat-1', 'token_not_yet_valid');
  });

  test('wrong issuer, wrong audience: 401', async () => {
    await refused(await idp.token(key, { scope: 'townhall town.read', iss: 'https://evil.example.com' }, now), 'iss-1', 'token_wrong_issuer');
    await refused(await idp.token(key, { scope: 'townhall town.read', aud: 'someone-else' }, now), 'aud-1', 'token_wrong_audience');
  });

  test('a missing required scope: 403 insufficient_scope naming it', async () => {
    const r = await get(await idp.token(key, { scope: 'town.read' }, now), 'req-1');
    assert.equal(r.status, 403);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="townhall", error="insufficient_scope", scope="townhall"');
    assert.equal(r.json.required_scope, 'townhall');
    assert.equal(audit('req-1')['reason'], 'missing_required_scope');
  });

  test('alg none and an HS256 token keyed with the public key are refused', async () => {
    const t = Math.floor(now / 1000);
    const claims = { iss: idp.issuer, aud: AUDIENCE, sub: 'root', iat: t, exp: t + 600, scope: 'townhall admin' };
    await refused(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`, 'none-1', 'token_alg_refused');
    const rsa = idp.published[1]!;
    const secret = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(secret);
    await refused(hs, 'hs-1', 'token_alg_refused');
  });

  test('a tampered payload fails the signature check', async () => {
    const [h, , sig] = (await idp.token(key, { scope: 'townhall town.read' }, now)).split('.');
    const t = Math.floor(now / 1000);
    const forged = b64url({ iss: idp.issuer, aud: AUDIENCE, sub: 'user-1', iat: t, exp: t + 600, scope: 'townhall admin' });
    await refused(`${h}.${forged}.${sig}`, 'tamper-1', 'token_bad_signature');
    await refused('not-a-jwt-at-all', 'garbage-1', 'token_malformed');
    assert.equal((await s.request('GET', '/v1/status', { headers: { 'x-api-key': TINYTOWN_KEY, 'x-request-id': 'xapi-1' } })).status, 401);
    assert.equal(audit('xapi-1')['reason'], 'unsupported_credential');
  });

  test('an unknown kid: 401 without refetch inside 30 s; after 30 s one refetch finds the rotated-in key', async () => {
    const fetches = idp.hits['/jwks']!;
    const rotated = await idp.newKey('k2', 'EdDSA');
    idp.published.push(rotated);
    const token = await idp.token(rotated, { scope: 'townhall town.read' }, now);
    now += 10_000;
    await refused(token, 'kid-1', 'token_unknown_kid');
    assert.equal(idp.hits['/jwks'], fetches, 'no refetch within 30 s of the last fetch');
    now += 21_000;
    assert.equal((await get(token, 'kid-2')).status, 200);
    assert.equal(idp.hits['/jwks'], fetches + 1);
  });

  test('a burst of unknown kids causes at most one fetch', async () => {
    now += 31_000;
    const fetches = idp.hits['/jwks']!;
    const t = Math.floor(now / 1000);
    const claims = { iss: idp.issuer, aud: AUDIENCE, sub: 'x', iat: t, exp: t + 600, scope: 'townhall town.read' };
    const tokens = await Promise.all(
      Array.from({ length: 25 }, (_, i) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: `invented-${i}` }).sign(key.privateKey)),
    );
    const answers = await Promise.all(tokens.map((tk, i) => get(tk, `burst-${i}`)));
    assert.deepEqual([...new Set(answers.map((r) => r.status))], [401]);
    assert.equal(idp.hits['/jwks'], fetches + 1);
    // Known keys keep working from the cache meanwhile.
    assert.equal((await get(await idp.token(key, { scope: 'townhall town.read' }, now), 'after-burst')).status, 200);
    assert.equal(idp.hits['/jwks'], fetches + 1);
  });

  test('failures are counted by reason in the metrics', async () => {
    const text = (await s.request('GET', '/metrics')).text;
    assert.ok(metric(text, 'townhall_auth_failures_total{reason="token_unknown_kid"}') >= 26);
    assert.equal(metric(text, 'townhall_auth_failures_total{reason="token_alg_refused"}'), 2);
  });
});

test('JWKS unreachable: 503 with Retry-After (not 401), logged', async () => {
  const idp = await startTestIdp(AUDIENCE);
  const key = await idp.newKey('k1');
  idp.published.push(key);
  idp.down = true;
  const s = await startTestServer({ toml: oidcToml(idp, `jwks_url = "${idp.jwksUrl}"\n`) });
  try {
    const token = await idp.token(key, { scope: 'town.read' });
    const r = await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'down-1' } });
    assert.equal(r.status, 503);
    assert.ok(Number(r.headers['retry-after']) >= 1, String(r.headers['retry-after']));
    assert.equal(r.json.type, 'https://townhall.dev/problems/auth-unavailable');
    assert.equal(parseAuditLine(s.audit.find((l) => l.includes('down-1'))!)['reason'], 'jwks_unavailable');
    assert.ok(s.logs.some((l) => / WARN townhall: OIDC: cannot fetch the signing keys from http:\/\/127\.0\.0\.1:\d+\/jwks: HTTP 503/.test(l)), s.logs.join('\n'));
    assert.equal(idp.hits['/.well-known/openid-configuration'], undefined, 'jwks_url given: no discovery');
  } finally {
    await s.close();
    await idp.close();
  }
});

test('accept_api_keys: a JWT-shaped Bearer goes to OIDC, anything else to the API keys', async () => {
  const idp = await startTestIdp(AUDIENCE);
  const key = await idp.newKey('k1');
  idp.published.push(key);
  const s = await startTestServer({ toml: oidcToml(idp, `jwks_url = "${idp.jwksUrl}"\naccept_api_keys = true\n[[townhall.auth.keys]]\nid = "ci"\nhash = "${TINYTOWN_HASH}"\n`) });
  try {
    const token = await idp.token(key, { scope: 'town.read' });
    assert.equal((await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${TINYTOWN_KEY}` } })).status, 200);
    assert.equal((await s.request('GET', '/v1/status', { headers: { 'x-api-key': TINYTOWN_KEY } })).status, 200);
    const wrong = await s.request('GET', '/v1/status', { headers: { authorization: 'Bearer wrong-key', 'x-request-id': 'k-wrong' } });
    assert.equal(wrong.status, 401);
    const line = parseAuditLine(s.audit.find((l) => l.includes('k-wrong'))!);
    assert.deepEqual([line['auth'], line['reason']], ['api_key', 'wrong_secret']);
  } finally {
    await s.close();
    await idp.close();
  }
});

test('clock_skew_seconds = 0: a token expired 5 s ago is refused (accepted with the default 60)', async () => {
  const idp = await startTestIdp(AUDIENCE);
  const key = await idp.newKey('k1');
  idp.published.push(key);
  const s = await startTestServer({ toml: oidcToml(idp, `jwks_url = "${idp.jwksUrl}"\nclock_skew_seconds = 0\n`) });
  try {
    const exp = Math.floor(Date.now() / 1000) - 5;
    const r = await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${await idp.token(key, { exp })}`, 'x-request-id': 'skew0' } });
    assert.equal(r.status, 401);
    assert.equal(parseAuditLine(s.audit.find((l) => l.includes('skew0'))!)['reason'], 'token_expired');
    assert.equal((await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${await idp.token(key)}` } })).status, 200);
  } finally {
    await s.close();
    await idp.close();
  }
});

test('OIDC refusals count for the failure limiter like API-key ones (same reasons in audit and metrics)', async () => {
  const idp = await startTestIdp(AUDIENCE);
  const key = await idp.newKey('k1');
  idp.published.push(key);
  const s = await startTestServer({ toml: oidcToml(idp, `jwks_url = "${idp.jwksUrl}"\n`).replace('max_failed_attempts_per_minute = 1000', 'max_failed_attempts_per_minute = 2') });
  try {
    const bad = await idp.token(key, { aud: 'someone-else' });
    for (let i = 0; i < 2; i++) assert.equal((await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${bad}` } })).status, 401);
    const r = await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${bad}`, 'x-request-id': 'oidc-429' } });
    assert.equal(r.status, 429, 'the same token again: blocked');
    assert.equal(parseAuditLine(s.audit.find((l) => l.includes('oidc-429'))!)['reason'], 'rate_limited');
    // The limiter counts per address and credential: another token from the same address is verified.
    const good = await idp.token(key, { scope: 'town.read' });
    assert.equal((await s.request('GET', '/v1/status', { headers: { authorization: `Bearer ${good}` } })).status, 200);
    const text = (await s.request('GET', '/metrics')).text;
    assert.equal(metric(text, 'townhall_auth_failures_total{reason="token_wrong_audience"}'), 2);
    assert.equal(metric(text, 'townhall_auth_failures_total{reason="rate_limited"}'), 1);
  } finally {
    await s.close();
    await idp.close();
  }
});
