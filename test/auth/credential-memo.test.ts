// The per-connection memo of a parsed credential: a keep-alive connection
// repeating its Authorization / X-API-Key headers gets the same parse without
// redoing it; any change of either header, or another connection, is parsed
// afresh, so the memo can never answer for headers it was not made from.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCredentialParser, parseCredential } from '../../src/auth/credentials.js';

const basic = (id: string, token: string): string => `Basic ${Buffer.from(`${id}:${token}`).toString('base64')}`;

test('a connection repeating its headers gets the same parse; changed headers are parsed again', () => {
  const parse = createCredentialParser();
  const socket = {};
  const first = parse({ authorization: basic('bench', 'secret-1') }, socket);
  assert.deepEqual(first, { kind: 'basic', keyId: 'bench', token: 'secret-1' });
  assert.equal(parse({ authorization: basic('bench', 'secret-1') }, socket), first, 'the memo answered');
  assert.deepEqual(parse({ authorization: basic('bench', 'secret-2') }, socket), { kind: 'basic', keyId: 'bench', token: 'secret-2' });
  assert.deepEqual(parse({ authorization: basic('other', 'secret-2') }, socket), { kind: 'basic', keyId: 'other', token: 'secret-2' });
  assert.deepEqual(parse({ authorization: 'Basic !!!' }, socket), { kind: 'malformed', scheme: 'basic' });
  assert.deepEqual(parse({}, socket), { kind: 'none' });
  assert.deepEqual(parse({ authorization: 'Digest x', 'x-api-key': 'tok' }, socket), { kind: 'x-api-key', token: 'tok' });
  assert.deepEqual(parse({ authorization: 'Digest x', 'x-api-key': 'tok2' }, socket), { kind: 'x-api-key', token: 'tok2' });
  assert.deepEqual(parse({ authorization: 'Bearer abc', 'x-api-key': 'tok2' }, socket), { kind: 'bearer', token: 'abc' });
});

test('memos are per connection, and a parse without a connection is never memoized', () => {
  const parse = createCredentialParser();
  const a = {};
  const b = {};
  const fromA = parse({ authorization: basic('bench', 'secret-1') }, a);
  const fromB = parse({ authorization: basic('bench', 'secret-1') }, b);
  assert.notEqual(fromA, fromB);
  assert.deepEqual(fromA, fromB);
  assert.deepEqual(parse({ authorization: 'Bearer zzz' }, undefined), { kind: 'bearer', token: 'zzz' });
  assert.equal(parse({ authorization: basic('bench', 'secret-1') }, a), fromA);
});

test('a memoized credential cannot be changed by whoever receives it', () => {
  const parse = createCredentialParser();
  const socket = {};
  const c = parse({ authorization: basic('bench', 'secret-1') }, socket);
  assert.ok(Object.isFrozen(c));
  assert.deepEqual(parse({ authorization: basic('bench', 'secret-1') }, socket), parseCredential({ authorization: basic('bench', 'secret-1') }));
});
