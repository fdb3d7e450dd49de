// TLS and mutual TLS through real sockets, with certificates made in the test
// run: HTTPS only when enabled, the protocol floor, client certificates
// required / optional / as the credential (mode mtls), the audit fields, and
// a reload swapping the certificate for new handshakes only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpsRequest, keepAliveAgent } from '../helpers/https-client.js';
import { issue, makeCa, type Ca, type Issued } from '../helpers/pki.js';
import { parseAuditLine, startTestServer, TINYTOWN_HASH, TINYTOWN_KEY, type TestServer } from '../helpers/server.js';

let dir = '';
let ca: Ca;
let other: Ca;
let server: Issued;
let alice: Issued;
let deployer: Issued;
let mallory: Issued;
let stranger: Issued;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'townhall-tls-'));
  ca = makeCa(dir, 'ca');
  other = makeCa(dir, 'other');
  server = issue(ca, 'server', { server: true });
  alice = issue(ca, 'alice');
  deployer = issue(ca, 'deployer');
  mallory = issue(ca, 'mallory');
  stranger = issue(other, 'alice', { file: 'alice-from-other-ca' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const KEYS = `[townhall.auth]\nmax_failed_attempts_per_minute = 1000\n[[townhall.auth.keys]]\nid = "ops"\nhash = "${TINYTOWN_HASH}"\n`;
const tlsOn = (extra = ''): string => `[townhall.tls]\nenabled = true\ncert_path = "${server.certPath}"\nkey_path = "${server.keyPath}"\n${extra}`;
const bearer = { authorization: `Bearer ${TINYTOWN_KEY}` };

function auditFor(s: TestServer, requestId: string): Record<string, string> {
  const line = s.audit.find((l) => l.includes(`request_id="${requestId}"`));
  assert.ok(line, `an audit line for ${requestId}:\n${s.audit.join('\n')}`);
  return parseAuditLine(line);
}

describe('TLS', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ toml: KEYS + tlsOn() });
  });
  after(() => s.close());

  test('HTTPS answers; /health and the start-up line say https://', async () => {
    const r = await httpsRequest(s.port, '/v1/status', { ca: ca.cert, headers: bearer });
    assert.equal(r.status, 200);
    const health = await httpsRequest(s.port, '/health', { ca: ca.cert });
    assert.equal(health.json.url, `https://127.0.0.1:${s.port}`);
    assert.ok(s.logs.some((l) => l.includes(`listening on https://127.0.0.1:${s.port} `) && l.includes('TLS TLSv1.2+')), s.logs.join('\n'));
    assert.equal(s.townhall.scheme, 'https');
  });

  test('plain HTTP to the TLS port gets no HTTP answer', async () => {
    await assert.rejects(s.request('GET', '/health'));
  });

  test('a client that does not trust the CA fails the handshake', async () => {
    await assert.rejects(httpsRequest(s.port, '/health', { ca: other.cert }), /self-signed|unable to verify|certificate/i);
  });

  test('a TLS 1.2 client is served by default', async () => {
    assert.equal((await httpsRequest(s.port, '/health', { ca: ca.cert, maxVersion: 'TLSv1.2' })).status, 200);
  });

  test('audit lines say auth="api_key" and carry no client_cert without mTLS', async () => {
    await httpsRequest(s.port, '/v1/backlog', { ca: ca.cert, method: 'POST', headers: { ...bearer, 'x-request-id': 'tls-audit' }, body: { description: 'x' } });
    const line = auditFor(s, 'tls-audit');
    assert.equal(line['auth'], 'api_key');
    assert.equal(line['client_cert'], undefined);
  });
});

test('min_version = "1.3" refuses a TLS 1.2 client', async () => {
  const s = await startTestServer({ toml: KEYS + tlsOn('min_version = "1.3"\n') });
  try {
    await assert.rejects(httpsRequest(s.port, '/health', { ca: ca.cert, maxVersion: 'TLSv1.2' }));
    assert.equal((await httpsRequest(s.port, '/health', { ca: ca.cert })).status, 200);
  } finally {
    await s.close();
  }
});

describe('mTLS required', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ toml: KEYS + tlsOn() + `[townhall.mtls]\nenabled = true\nrequired = true\nca_path = "${ca.certPath}"\n` });
  });
  after(() => s.close());

  test('a client without a certificate fails the handshake', async () => {
    await assert.rejects(httpsRequest(s.port, '/health', { ca: ca.cert }));
  });

  test('a certificate from another CA fails the handshake, even with the same CN', async () => {
    await assert.rejects(httpsRequest(s.port, '/health', { ca: ca.cert, cert: stranger.cert, key: stranger.key }));
  });

  test('a certificate from the CA is served; its CN is the audit client_cert', async () => {
    const r = await httpsRequest(s.port, '/v1/backlog', {
      ca: ca.cert, cert: alice.cert, key: alice.key, method: 'POST', headers: { ...bearer, 'x-request-id': 'mtls-1' }, body: { description: 'x' },
    });
    assert.equal(r.status, 201);
    const line = auditFor(s, 'mtls-1');
    assert.equal(line['client_cert'], 'alice');
    assert.equal(line['principal'], 'ops');
    assert.equal(line['auth'], 'api_key');
  });

  test('the certificate alone does not authenticate outside mode mtls', async () => {
    const r = await httpsRequest(s.port, '/v1/status', { ca: ca.cert, cert: alice.cert, key: alice.key, headers: { 'x-request-id': 'mtls-2' } });
    assert.equal(r.status, 401);
    assert.equal(auditFor(s, 'mtls-2')['reason'], 'missing');
  });
});

describe('mTLS optional', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ toml: KEYS + tlsOn() + `[townhall.mtls]\nenabled = true\nrequired = false\nca_path = "${ca.certPath}"\n` });
  });
  after(() => s.close());

  test('no certificate: served', async () => {
    assert.equal((await httpsRequest(s.port, '/v1/status', { ca: ca.cert, headers: bearer })).status, 200);
  });

  test('an unverified certificate is treated as none (no client_cert in the audit)', async () => {
    const r = await httpsRequest(s.port, '/v1/backlog', {
      ca: ca.cert, cert: stranger.cert, key: stranger.key, method: 'POST', headers: { ...bearer, 'x-request-id': 'opt-1' }, body: { description: 'x' },
    });
    assert.equal(r.status, 201);
    assert.equal(auditFor(s, 'opt-1')['client_cert'], undefined);
  });

  test('a verified certificate is named', async () => {
    await httpsRequest(s.port, '/v1/backlog', { ca: ca.cert, cert: alice.cert, key: alice.key, method: 'POST', headers: { ...bearer, 'x-request-id': 'opt-2' }, body: { description: 'x' } });
    assert.equal(auditFor(s, 'opt-2')['client_cert'], 'alice');
  });
});

describe('mode mtls: the certificate is the credential', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      toml:
        KEYS.replace('[townhall.auth]\n', '[townhall.auth]\nmode = "mtls"\n') +
        tlsOn() +
        `[townhall.mtls]\nrequired = true\nca_path = "${ca.certPath}"\n` +
        `[[townhall.mtls.clients]]\nsubject = "deployer"\nscopes = ["town.read", "agent.manage"]\n` +
        `[[townhall.mtls.clients]]\nsubject = "alice"\nscopes = ["town.read", "town.write"]\n`,
    });
  });
  after(() => s.close());

  test('a listed subject acts with its scopes as principal cert:<CN>', async () => {
    const read = await httpsRequest(s.port, '/v1/status', { ca: ca.cert, cert: deployer.cert, key: deployer.key });
    assert.equal(read.status, 200);
    assert.equal(read.json.auth_mode, 'mtls');
    const write = await httpsRequest(s.port, '/v1/backlog', {
      ca: ca.cert, cert: deployer.cert, key: deployer.key, method: 'POST', headers: { 'x-request-id': 'cert-403' }, body: { description: 'x' },
    });
    assert.equal(write.status, 403);
    const line = auditFor(s, 'cert-403');
    assert.deepEqual([line['principal'], line['scopes'], line['auth'], line['client_cert']], ['cert:deployer', 'town.read,agent.manage', 'mtls', 'deployer']);
    const ok = await httpsRequest(s.port, '/v1/backlog', { ca: ca.cert, cert: alice.cert, key: alice.key, method: 'POST', headers: { 'x-request-id': 'cert-201' }, body: { description: 'x' } });
    assert.equal(ok.status, 201);
    assert.equal(auditFor(s, 'cert-201')['principal'], 'cert:alice');
  });

  test('a certificate from the CA whose subject is not listed is 401 (reason cert_unknown_subject)', async () => {
    const r = await httpsRequest(s.port, '/v1/status', { ca: ca.cert, cert: mallory.cert, key: mallory.key, headers: { 'x-request-id': 'cert-401' } });
    assert.equal(r.status, 401);
    assert.match(String(r.headers['www-authenticate']), /error="invalid_token"/);
    const line = auditFor(s, 'cert-401');
    assert.deepEqual([line['reason'], line['auth'], line['client_cert']], ['cert_unknown_subject', 'mtls', 'mallory']);
  });

  test('configured API keys are accepted too (ahead of the certificate)', async () => {
    const r = await httpsRequest(s.port, '/v1/backlog', {
      ca: ca.cert, cert: mallory.cert, key: mallory.key, method: 'POST', headers: { ...bearer, 'x-request-id': 'cert-key' }, body: { description: 'x' },
    });
    assert.equal(r.status, 201);
    assert.equal(auditFor(s, 'cert-key')['principal'], 'ops');
  });
});

test('reload swaps the certificate: new connections see the new one, an open keep-alive connection keeps working', async () => {
  const live = { certPath: join(dir, 'live.pem'), keyPath: join(dir, 'live.key') };
  copyFileSync(server.certPath, live.certPath);
  copyFileSync(server.keyPath, live.keyPath);
  const s = await startTestServer({ toml: KEYS + `[townhall.tls]\nenabled = true\ncert_path = "${live.certPath}"\nkey_path = "${live.keyPath}"\n` });
  const agent = keepAliveAgent(ca.cert);
  try {
    const first = await httpsRequest(s.port, '/v1/status', { ca: ca.cert, agent, headers: bearer });
    assert.equal(first.status, 200);
    const replacement = issue(ca, 'server-2', { server: true });
    copyFileSync(replacement.certPath, live.certPath);
    copyFileSync(replacement.keyPath, live.keyPath);
    const outcome = await s.townhall.reload('test');
    assert.equal(outcome.ok, true);
    const fresh = await httpsRequest(s.port, '/health', { ca: ca.cert });
    assert.notEqual(fresh.serverFingerprint, first.serverFingerprint, 'a new handshake gets the new certificate');
    const again = await httpsRequest(s.port, '/v1/status', { ca: ca.cert, agent, headers: bearer });
    assert.equal(again.status, 200);
    assert.equal(again.localPort, first.localPort, 'same connection');
    assert.equal(again.serverFingerprint, first.serverFingerprint, 'the open connection keeps its certificate');
  } finally {
    agent.destroy();
    await s.close();
  }
});

test('mode mtls: a listed certificate keeps working while its address is blocked; unproven credentials get 429', async () => {
  const s = await startTestServer({
    toml:
      '[townhall.auth]\nmode = "mtls"\nmax_failed_attempts_per_minute = 1\n' + tlsOn() +
      `[townhall.mtls]\nrequired = true\nca_path = "${ca.certPath}"\n[[townhall.mtls.clients]]\nsubject = "deployer"\nscopes = ["town.read"]\n`,
  });
  try {
    assert.equal((await httpsRequest(s.port, '/v1/status', { ca: ca.cert, cert: mallory.cert, key: mallory.key })).status, 401);
    assert.equal((await httpsRequest(s.port, '/v1/status', { ca: ca.cert, cert: mallory.cert, key: mallory.key })).status, 429);
    assert.equal((await httpsRequest(s.port, '/v1/status', { ca: ca.cert, cert: deployer.cert, key: deployer.key })).status, 200);
  } finally {
    await s.close();
  }
});
