// Parses the credential a request presents, once, into a typed value.
//
// Precedence: an Authorization header with a supported scheme (Bearer, Basic)
// wins over X-API-Key, so a wrong Bearer key is a 401 even when X-API-Key is
// right. An unsupported scheme (e.g. Digest) does not hide a valid X-API-Key.
//
// Security: the returned value holds the secret; it must never be logged or put
// into an error. Only `kind` (and a Basic key id) may reach the audit log.
import type { IncomingHttpHeaders } from 'node:http';

export type Credential =
  | { kind: 'none' }
  | { kind: 'malformed'; scheme: 'bearer' | 'basic' | 'x-api-key' }
  | { kind: 'bearer'; token: string }
  | { kind: 'x-api-key'; token: string }
  | { kind: 'basic'; keyId: string; token: string };

// Tokens are printable ASCII without spaces; anything else cannot be a key.
const TOKEN = /^[\x21-\x7e]{1,4096}$/;

function parseAuthorization(value: string): Credential | null {
  const space = value.indexOf(' ');
  const scheme = (space === -1 ? value : value.slice(0, space)).toLowerCase();
  const rest = space === -1 ? '' : value.slice(space + 1).trim();
  if (scheme === 'bearer') {
    return TOKEN.test(rest) ? { kind: 'bearer', token: rest } : { kind: 'malformed', scheme: 'bearer' };
  }
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(rest) || rest.length > 8192) return { kind: 'malformed', scheme: 'basic' };
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { kind: 'malformed', scheme: 'basic' };
    const keyId = decoded.slice(0, colon);
    const token = decoded.slice(colon + 1);
    if (!TOKEN.test(token) || keyId.length > 256) return { kind: 'malformed', scheme: 'basic' };
    return { kind: 'basic', keyId, token };
  }
  return null;
}

export function parseCredential(headers: IncomingHttpHeaders): Credential {
  const authorization = headers.authorization;
  if (authorization !== undefined && authorization !== '') {
    const parsed = parseAuthorization(authorization);
    if (parsed !== null) return parsed;
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') {
    const token = apiKey.trim();
    return TOKEN.test(token) ? { kind: 'x-api-key', token } : { kind: 'malformed', scheme: 'x-api-key' };
  }
  return { kind: 'none' };
}

/** parseCredential, remembered per connection (see createCredentialParser). */
export type CredentialParser = (headers: IncomingHttpHeaders, connection: object | undefined) => Credential;

/**
 * parseCredential with a memo per connection: a keep-alive client sends the
 * same Authorization header on every request, and a Basic one costs a base64
 * decode, two slices and two pattern checks each time. The memo is the parse
 * of the exact header values it was made from (compared whole, both headers),
 * so it answers nothing a fresh parse would not; expiry, revocation, reloads
 * and the failure limiter are all judged after parsing, as before. Like the
 * verifier's proved-key memo (api-keys.ts) it lives only as long as the socket
 * and is compared only with what the same socket sends.
 */
export function createCredentialParser(): CredentialParser {
  const memos = new WeakMap<object, { authorization: string | undefined; apiKey: string | string[] | undefined; credential: Credential }>();
  return (headers, connection) => {
    if (connection === undefined) return parseCredential(headers);
    const authorization = headers.authorization;
    const apiKey = headers['x-api-key'];
    const memo = memos.get(connection);
    if (memo !== undefined && memo.authorization === authorization && memo.apiKey === apiKey) return memo.credential;
    // Frozen: the same object answers later requests of this connection.
    const credential = Object.freeze(parseCredential(headers));
    memos.set(connection, { authorization, apiKey, credential });
    return credential;
  };
}
