// [townhall.tls], [townhall.mtls], [[townhall.mtls.clients]] and the OIDC keys
// of [townhall.auth]: what loadConfig accepts, and every start-up refusal as
// one line naming the key path. Certificates are made in the test run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config.js';
import { loadConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { issue, makeCa, type Ca, type Issued } from '../helpers/pki.js';
import { TINYTOWN_HASH } from '../helpers/server.js';

let dir = '';
let ca: Ca;
let other: Ca;
let server: Issued;
let expired: Issued;
let notPem = '';
const KEY = `[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\n`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'townhall-tlscfg-'));
  ca = makeCa(dir, 'ca');
  other = makeCa(dir, 'other');
  server = issue(ca, 'server', { server: true });
  expired = issue(ca, 'old', { server: true, start: '20200101000000Z', end: '20200102000000Z' });
  notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello, not a certificate\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function load(toml: string, env: Record<string, string> = {}): LoadedConfig {
  const town = mkdtempSync(join(dir, 'town-'));
  writeFileSync(join(town, 'tinytown.toml'), toml);
  return loadConfig({ flags: { town }, env, cwd: town });
}

function refusal(toml: string): string {
  try {
    load(toml);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail('expected a refusal');
}

const tls = (cert: string, key: string, extra = ''): string => `[townhall.tls]\nenabled = true\ncert_path = "${cert}"\nkey_path = "${key}"\n${extra}`;

describe('[townhall.tls]', () => {
  test('enabled with a matching certificate and key: material loaded, TLS 1.2 floor by default', () => {
    const { config } = load(KEY + tls(server.certPath, server.keyPath));
    assert.equal(config.tls?.certPath, server.certPath);
    assert.equal(config.tls?.minVersion, 'TLSv1.2');
    assert.deepEqual(config.tls?.material.cert, server.cert);
    assert.equal(config.mtls, null);
  });

  test("Tinytown's cert_file / key_file are aliases; min_version 1.3 is read", () => {
    const { config } = load(KEY + `[townhall.tls]\nenabled = true\ncert_file = "${server.certPath}"\nkey_file = "${server.keyPath}"\nmin_version = "1.3"\n`);
    assert.equal(config.tls?.keyPath, server.keyPath);
    assert.equal(config.tls?.minVersion, 'TLSv1.3');
  });

  test('disabled: the paths are not checked (Tinytown writes them whether used or not)', () => {
    assert.equal(load(KEY + '[townhall.tls]\nenabled = false\ncert_file = "/nope/server.crt"\n').config.tls, null);
  });

  test('every start-up refusal names the key path', () => {
    assert.equal(refusal(KEY + '[townhall.tls]\nenabled = true\n'), '[townhall.tls] cert_path: required when enabled = true (the server certificate, PEM)');
    assert.match(refusal(KEY + `[townhall.tls]\nenabled = true\ncert_path = "${server.certPath}"\n`), /^\[townhall\.tls\] key_path: required/);
    assert.equal(refusal(KEY + tls('/etc/townhall/server.crt', server.keyPath)), '[townhall.tls] cert_path: no such file: /etc/townhall/server.crt');
    assert.equal(refusal(KEY + `[townhall.tls]\nenabled = true\ncert_file = "/x/s.crt"\nkey_file = "${server.keyPath}"\n`), '[townhall.tls] cert_file: no such file: /x/s.crt');
    assert.match(refusal(KEY + tls(notPem, server.keyPath)), /^\[townhall\.tls\] cert_path: not a PEM certificate file/);
    assert.match(refusal(KEY + tls(server.certPath, notPem)), /^\[townhall\.tls\] key_path: not a PEM private key/);
    assert.match(refusal(KEY + tls(server.certPath, dir)), /^\[townhall\.tls\] key_path: is a directory/);
    assert.match(refusal(KEY + tls(server.certPath, expired.keyPath)), /^\[townhall\.tls\] key_path: the key in .* does not match the certificate/);
    assert.match(refusal(KEY + tls(expired.certPath, expired.keyPath)), /^\[townhall\.tls\] cert_path: the certificate in .* expired on 2020-01-02T00:00:00\.000Z/);
    assert.match(refusal(KEY + tls(server.certPath, server.keyPath, 'min_version = "1.1"\n')), /^\[townhall\.tls\] min_version: must be "1\.2" or "1\.3"/);
    assert.match(refusal(KEY + tls(server.certPath, server.keyPath, `cert_file = "${server.certPath}"\n`)), /^\[townhall\.tls\] cert_path: give either cert_path or cert_file/);
    assert.match(refusal(KEY + tls(server.certPath, server.keyPath, 'ciphers = "x"\n')), /unknown key "ciphers" in \[townhall\.tls\]/);
  });

  test('a non-loopback bind with api_key warns without TLS and not with it', () => {
    const bind = '[townhall]\nbind = "0.0.0.0"\n';
    assert.match(load(bind + KEY).warnings.join('\n'), /plain HTTP.*\[townhall\.tls\]/);
    assert.deepEqual(load(bind + KEY + tls(server.certPath, server.keyPath)).warnings, []);
  });

  test('a certificate expiring within 7 days warns at load (start and reload)', () => {
    const soon = issue(ca, 'soon', { server: true, days: 2 });
    const { warnings } = load(KEY + tls(soon.certPath, soon.keyPath));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^the TLS certificate .*soon\.pem expires at .*\(in 4[78] h\); replace the files and reload/);
  });
});

describe('[townhall.mtls]', () => {
  const mtls = (extra: string): string => KEY + tls(server.certPath, server.keyPath) + `[townhall.mtls]\n${extra}`;

  test('required with a CA; ca_file is an alias; clients are read', () => {
    const { config } = load(
      mtls(`enabled = true\nrequired = true\nca_file = "${ca.certPath}"\n[[townhall.mtls.clients]]\nsubject = "deployer"\nscopes = ["town.read", "agent.manage"]\n`),
    );
    assert.deepEqual(config.mtls, { required: true, caPath: ca.certPath, clients: [{ subject: 'deployer', scopes: ['town.read', 'agent.manage'] }] });
    assert.deepEqual(config.tls?.material.ca, ca.cert);
  });

  test('every start-up refusal names the key path', () => {
    assert.match(refusal(KEY + `[townhall.mtls]\nenabled = true\nca_path = "${ca.certPath}"\n`), /^\[townhall\.mtls\] enabled: mutual TLS needs TLS/);
    assert.match(refusal(mtls('enabled = true\nrequired = true\n')), /^\[townhall\.mtls\] ca_path: required when mTLS is on/);
    assert.match(refusal(mtls('required = true\n')), /^\[townhall\.mtls\] ca_path: required/, 'required alone turns mTLS on, as in Tinytown');
    assert.equal(refusal(mtls('enabled = true\nca_path = "/etc/townhall/ca.pem"\n')), '[townhall.mtls] ca_path: no such file: /etc/townhall/ca.pem');
    assert.match(refusal(mtls(`enabled = true\nca_path = "${notPem}"\n`)), /^\[townhall\.mtls\] ca_path: not a PEM certificate file/);
    assert.match(refusal(mtls(`enabled = true\nca_path = "${ca.certPath}"\n[[townhall.mtls.clients]]\nsubject = "x"\n`)), /^\[\[townhall\.mtls\.clients\]\] #1 scopes: list the scopes/);
    assert.match(refusal(mtls(`enabled = true\nca_path = "${ca.certPath}"\n[[townhall.mtls.clients]]\nscopes = ["admin"]\n`)), /#1 subject: must be/);
    assert.match(
      refusal(mtls(`enabled = true\nca_path = "${ca.certPath}"\n[[townhall.mtls.clients]]\nsubject = "x"\nscopes = ["root"]\n`)),
      /unknown scope "root"/,
    );
  });

  test('mode mtls needs TLS with required = true and at least one client', () => {
    const clients = '[[townhall.mtls.clients]]\nsubject = "svc"\nscopes = ["town.read"]\n';
    assert.match(refusal(`[townhall.auth]\nmode = "mtls"\n`), /^\[townhall\.auth\] mode: "mtls" needs \[townhall\.tls\] enabled = true and \[townhall\.mtls\] required = true/);
    assert.match(refusal(tls(server.certPath, server.keyPath) + `[townhall.auth]\nmode = "mtls"\n[townhall.mtls]\nenabled = true\nca_path = "${other.certPath}"\n${clients}`), /required = true/);
    assert.match(refusal(tls(server.certPath, server.keyPath) + `[townhall.auth]\nmode = "mtls"\n[townhall.mtls]\nrequired = true\nca_path = "${ca.certPath}"\n`), /at least one \[\[townhall\.mtls\.clients\]\]/);
    const { config } = load(tls(server.certPath, server.keyPath) + `[townhall.auth]\nmode = "mtls"\n[townhall.mtls]\nrequired = true\nca_path = "${ca.certPath}"\n${clients}`);
    assert.equal(config.auth.mode, 'mtls');
  });
});

describe('OIDC keys of [townhall.auth]', () => {
  const oidc = (extra: string): string => `[townhall.auth]\nmode = "oidc"\n${extra}`;

  test('issuer, audience (string or list), jwks_url, required_scopes, clock_skew_seconds, accept_api_keys', () => {
    const { config } = load(
      oidc('issuer = "https://id.example.com/"\naudience = ["townhall", "th"]\njwks_url = "https://id.example.com/keys"\nrequired_scopes = ["townhall"]\nclock_skew_seconds = 5\naccept_api_keys = true\n'),
    );
    assert.deepEqual(config.auth.oidc, {
      issuer: 'https://id.example.com/',
      audience: ['townhall', 'th'],
      jwksUrl: 'https://id.example.com/keys',
      requiredScopes: ['townhall'],
      clockSkewSecs: 5,
    });
    assert.equal(config.auth.acceptApiKeys, true);
    const d = load(oidc('issuer = "https://id.example.com"\naudience = "townhall"\n')).config.auth;
    assert.deepEqual([d.oidc?.audience, d.oidc?.jwksUrl, d.oidc?.clockSkewSecs, d.acceptApiKeys], [['townhall'], null, 60, false]);
  });

  test('http:// is refused unless the host is loopback', () => {
    assert.match(refusal(oidc('issuer = "http://id.example.com"\naudience = "a"\n')), /^\[townhall\.auth\] issuer: must be an https:\/\/ URL/);
    assert.match(refusal(oidc('issuer = "https://id.example.com"\naudience = "a"\njwks_url = "http://10.0.0.1/keys"\n')), /^\[townhall\.auth\] jwks_url: must be an https:\/\/ URL/);
    assert.match(refusal(oidc('issuer = "not a url"\naudience = "a"\n')), /^\[townhall\.auth\] issuer: not a URL/);
    assert.equal(load(oidc('issuer = "http://127.0.0.1:9/"\naudience = "a"\njwks_url = "http://[::1]:9/jwks"\n')).config.auth.mode, 'oidc');
  });

  test('missing audience and bad values are refused naming the key', () => {
    assert.match(refusal(oidc('issuer = "https://id.example.com"\n')), /^\[townhall\.auth\] audience: required/);
    assert.match(refusal(oidc('issuer = "https://id.example.com"\naudience = 3\n')), /^\[townhall\.auth\] audience: must be a string or a list/);
    assert.match(refusal(oidc('issuer = "https://id.example.com"\naudience = "a"\nclock_skew_seconds = -1\n')), /clock_skew_seconds must be an integer/);
    assert.match(refusal(oidc('issuer = "https://id.example.com"\naudience = "a"\nrequired_scopes = ["a b"]\n')), /required_scopes: each scope/);
  });

  test('in other modes the OIDC keys Tinytown writes are accepted and unused', () => {
    const { config } = load(KEY + 'issuer = "http://id.example.com"\nrequired_scopes = []\nclock_skew_seconds = 60\n');
    assert.equal(config.auth.mode, 'api_key');
    assert.equal(config.auth.oidc, null);
  });
});
