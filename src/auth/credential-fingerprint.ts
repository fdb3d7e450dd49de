// What the failure limiter counts failures against, besides the client
// address: a fingerprint of the credential a request presents, so one
// client's wrong key does not block a neighbour's different key on the same
// address (issue 8, item 7).
//
//   Basic key-id:token          the key id                  "b:" + HMAC(id)
//   Bearer / X-API-Key with a   the selector (token-        "s:" + HMAC(selector)
//   key's selector              selector.ts)
//   other Bearer / X-API-Key    the whole token             "t:" + HMAC(token)
//   malformed                   the scheme                  "m:bearer" ...
//   client certificate only     the subject CN              "c:" + HMAC(subject)
//
// So guesses against one key (its id or selector) share one count however the
// secret varies, and a guesser who rotates tokens gets a new fingerprint each
// time: the limiter's per-address ceiling is what stops that client.
//
// Security: a fingerprint is a truncated HMAC-SHA256 under a per-process
// random key, never the secret or a plain hash of it; it never reaches a log,
// a metric or an answer, and the limiter only keeps it as a map key.
import { createHmac, randomBytes } from 'node:crypto';
import type { VerifiedPeer } from '../tls/peer-certificate.js';
import type { Credential } from './credentials.js';
import { selectorOf } from './token-selector.js';

export type CredentialFingerprinter = (credential: Credential, peer: VerifiedPeer | null) => string;

export function createCredentialFingerprinter(secret: Buffer = randomBytes(32)): CredentialFingerprinter {
  const mac = (kind: string, value: string): string => `${kind}:${createHmac('sha256', secret).update(value, 'utf8').digest('base64url').slice(0, 22)}`;
  return (credential, peer) => {
    switch (credential.kind) {
      case 'basic':
        return mac('b', credential.keyId);
      case 'bearer':
      case 'x-api-key': {
        const selector = selectorOf(credential.token);
        return selector === null ? mac('t', credential.token) : mac('s', selector);
      }
      case 'malformed':
        return `m:${credential.scheme}`;
      case 'none':
        return peer === null ? 'none' : mac('c', peer.subject);
    }
  };
}

/** One per process: fingerprints must stay stable across reloads, as the limiter's counts do. */
export const processFingerprinter: CredentialFingerprinter = createCredentialFingerprinter();

/**
 * The whole credential, secret included, as a truncated HMAC under its own
 * per-process key: equal only for the very same credential (where a
 * fingerprint is shared by every guess at one key). The authenticator counts
 * concurrent attempts with one credential as one guess (authenticate.ts).
 */
export function createCredentialIdentity(secret: Buffer = randomBytes(32)): (credential: Credential, peer: VerifiedPeer | null) => string {
  return (credential, peer) => {
    const parts =
      credential.kind === 'basic' ? `b\0${credential.keyId}\0${credential.token}`
      : credential.kind === 'bearer' || credential.kind === 'x-api-key' ? `t\0${credential.token}`
      : credential.kind === 'none' ? `c\0${peer?.subject ?? ''}`
      : `m\0${credential.scheme}`;
    return createHmac('sha256', secret).update(parts, 'utf8').digest('base64url').slice(0, 22);
  };
}
