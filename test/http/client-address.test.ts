// clientAddress and trust_proxy: X-Forwarded-For is read only from a trusted
// proxy, from the right, skipping trusted hops (nginx real_ip_recursive);
// anything malformed falls back to the socket's address. Plus one wiring test:
// a list without loopback makes the server ignore a loopback client's header.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { LOOPBACK_PROXIES } from '../../src/config/proxy-list.js';
import { clientAddress, createProxyTrust } from '../../src/http/client-address.js';
import { parseAuditLine, startTestServer } from '../helpers/server.js';

function req(remoteAddress: string, xff?: string): IncomingMessage {
  return { socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } } as unknown as IncomingMessage;
}

describe('clientAddress', () => {
  const none = createProxyTrust([]);
  const loopback = createProxyTrust(LOOPBACK_PROXIES);
  const lan = createProxyTrust(['10.0.0.0/8', 'fd00::/8']);

  test('no trusted proxies: the socket address, whatever the header says', () => {
    assert.equal(clientAddress(req('127.0.0.1', '203.0.113.9'), none), '127.0.0.1');
    assert.equal(clientAddress(req('::ffff:198.51.100.4'), none), '198.51.100.4');
  });

  test('true = loopback proxies: believed from 127.0.0.1 and ::1 only', () => {
    assert.equal(clientAddress(req('127.0.0.1', '198.51.100.1, 203.0.113.7'), loopback), '203.0.113.7');
    assert.equal(clientAddress(req('::1', '203.0.113.7'), loopback), '203.0.113.7');
    assert.equal(clientAddress(req('198.51.100.4', '203.0.113.7'), loopback), '198.51.100.4', 'a direct client cannot choose its address');
  });

  test('a CIDR list: trusted hops are skipped from the right; the first untrusted one is the client', () => {
    assert.equal(clientAddress(req('10.1.2.3', '203.0.113.7, 10.9.9.9'), lan), '203.0.113.7');
    assert.equal(clientAddress(req('10.1.2.3', '198.51.100.1, 203.0.113.7, 10.9.9.9'), lan), '203.0.113.7', 'the client cannot prepend a fake');
    assert.equal(clientAddress(req('fd00::5', '2001:db8::1'), lan), '2001:db8::1');
    assert.equal(clientAddress(req('127.0.0.1', '203.0.113.7'), lan), '127.0.0.1', 'loopback is not in this list');
  });

  test('malformed hops or only trusted hops: the socket address', () => {
    assert.equal(clientAddress(req('10.1.2.3', 'evil"\n, 203.0.113.7 x'), lan), '10.1.2.3');
    assert.equal(clientAddress(req('10.1.2.3', '10.0.0.1, 10.0.0.2'), lan), '10.1.2.3');
    assert.equal(clientAddress(req('10.1.2.3', `203.0.113.7,${'10.0.0.1,'.repeat(40)}10.0.0.2`), lan), '10.1.2.3', 'at most 32 hops are read');
  });
});

test('trust_proxy as a list without loopback: a loopback client\'s X-Forwarded-For is ignored (limiter, audit)', async () => {
  const s = await startTestServer({ toml: '[townhall]\ntrust_proxy = ["10.0.0.0/8"]\n' });
  try {
    await s.request('POST', '/v1/backlog', { headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'xff-list' }, body: { description: 'x' } });
    assert.equal(parseAuditLine(s.audit.find((l) => l.includes('xff-list'))!)['remote_addr'], '127.0.0.1');
  } finally {
    await s.close();
  }
});
