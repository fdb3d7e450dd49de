// parseCredential: each scheme, precedence between Authorization and
// X-API-Key, and malformed input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { parseCredential } from '../../src/auth/credentials.js';

const TOKEN = 'kQ7vN2xPz9LmR4tYb8WcE3hJ6sDfG1aU';
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const parse = (headers: IncomingHttpHeaders) => parseCredential(headers);

describe('Bearer', () => {
  test('Bearer <token>', () => {
    assert.deepEqual(parse({ authorization: `Bearer ${TOKEN}` }), { kind: 'bearer', token: TOKEN });
  });

  test('the scheme is case-insensitive', () => {
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      assert.deepEqual(parse({ authorization: `${scheme} ${TOKEN}` }), { kind: 'bearer', token: TOKEN }, scheme);
    }
  });

  test('surrounding whitespace around the token is ignored', () => {
    assert.deepEqual(parse({ authorization: `Bearer   ${TOKEN}  ` }), { kind: 'bearer', token: TOKEN });
  });

  test('an empty Bearer is malformed', () => {
    assert.deepEqual(parse({ authorization: 'Bearer' }), { kind: 'malformed', scheme: 'bearer' });
    assert.deepEqual(parse({ authorization: 'Bearer ' }), { kind: 'malformed', scheme: 'bearer' });
    assert.deepEqual(parse({ authorization: 'Bearer    ' }), { kind: 'malformed', scheme: 'bearer' });
  });

  test('a Bearer token with inner spaces or control characters is malformed', () => {
    assert.deepEqual(parse({ authorization: 'Bearer abc def' }), { kind: 'malformed', scheme: 'bearer' });
    assert.deepEqual(parse({ authorization: 'Bearer abc\u0001' }), { kind: 'malformed', scheme: 'bearer' });
  });

  test('a Bearer token over 4096 characters is malformed', () => {
    assert.deepEqual(parse({ authorization: `Bearer ${'a'.repeat(4096)}` }).kind, 'bearer');
    assert.deepEqual(parse({ authorization: `Bearer ${'a'.repeat(4097)}` }), { kind: 'malformed', scheme: 'bearer' });
  });
});

describe('Basic', () => {
  test('Basic base64(id:token)', () => {
    assert.deepEqual(parse({ authorization: `Basic ${b64(`ci:${TOKEN}`)}` }), { kind: 'basic', keyId: 'ci', token: TOKEN });
  });

  test('the scheme is case-insensitive', () => {
    assert.deepEqual(parse({ authorization: `basic ${b64('ci:tok')}` }), { kind: 'basic', keyId: 'ci', token: 'tok' });
  });

  test('the token may contain ":" (split at the first colon)', () => {
    assert.deepEqual(parse({ authorization: `Basic ${b64('ci:abc:def:')}` }), { kind: 'basic', keyId: 'ci', token: 'abc:def:' });
  });

  test('a UUID key id', () => {
    const id = '0b7e1a52-5f0c-4b8e-9d1e-2f3a4b5c6d7e';
    assert.deepEqual(parse({ authorization: `Basic ${b64(`${id}:${TOKEN}`)}` }), { kind: 'basic', keyId: id, token: TOKEN });
  });

  for (const [what, value] of [
    ['bad base64', 'Basic !!!notbase64'],
    ['empty', 'Basic '],
    ['no scheme value', 'Basic'],
    ['no colon', `Basic ${b64('justatoken')}`],
    ['empty key id', `Basic ${b64(':token')}`],
    ['empty token', `Basic ${b64('ci:')}`],
    ['token with a space', `Basic ${b64('ci:a b')}`],
    ['base64 with inner space', `Basic ${b64('ci:')} ${b64('tok')}`],
  ] as const) {
    test(`Basic ${what} is malformed`, () => {
      assert.deepEqual(parse({ authorization: value }), { kind: 'malformed', scheme: 'basic' });
    });
  }
});

describe('X-API-Key', () => {
  test('X-API-Key alone', () => {
    assert.deepEqual(parse({ 'x-api-key': TOKEN }), { kind: 'x-api-key', token: TOKEN });
  });

  test('surrounding whitespace is trimmed', () => {
    assert.deepEqual(parse({ 'x-api-key': ` ${TOKEN} ` }), { kind: 'x-api-key', token: TOKEN });
  });

  test('a value with inner spaces is malformed', () => {
    assert.deepEqual(parse({ 'x-api-key': 'a b' }), { kind: 'malformed', scheme: 'x-api-key' });
  });

  test('an empty X-API-Key is no credential', () => {
    assert.deepEqual(parse({ 'x-api-key': '' }), { kind: 'none' });
  });
});

describe('precedence', () => {
  test('Authorization with a supported scheme wins over X-API-Key', () => {
    assert.deepEqual(parse({ authorization: 'Bearer wrong-key', 'x-api-key': TOKEN }), { kind: 'bearer', token: 'wrong-key' });
    assert.deepEqual(parse({ authorization: `Basic ${b64('ci:wrong')}`, 'x-api-key': TOKEN }), { kind: 'basic', keyId: 'ci', token: 'wrong' });
  });

  test('a malformed Bearer still wins over a valid X-API-Key', () => {
    assert.deepEqual(parse({ authorization: 'Bearer ', 'x-api-key': TOKEN }), { kind: 'malformed', scheme: 'bearer' });
  });

  test('an unsupported scheme falls back to X-API-Key', () => {
    assert.deepEqual(parse({ authorization: 'Digest username="x", realm="y"', 'x-api-key': TOKEN }), { kind: 'x-api-key', token: TOKEN });
    assert.deepEqual(parse({ authorization: `Token ${TOKEN}`, 'x-api-key': TOKEN }), { kind: 'x-api-key', token: TOKEN });
  });

  test('an unsupported scheme alone is no credential', () => {
    assert.deepEqual(parse({ authorization: 'Digest username="x"' }), { kind: 'none' });
  });

  test('an empty Authorization falls back to X-API-Key', () => {
    assert.deepEqual(parse({ authorization: '', 'x-api-key': TOKEN }), { kind: 'x-api-key', token: TOKEN });
  });

  test('no headers at all', () => {
    assert.deepEqual(parse({}), { kind: 'none' });
    assert.deepEqual(parse({ cookie: `token=${TOKEN}` }), { kind: 'none' });
  });
});
