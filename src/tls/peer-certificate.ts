// The client certificate of a request, if the TLS handshake verified it
// against the mTLS CA. An unverified certificate (mTLS optional, wrong CA,
// expired) counts as none: its subject is whatever the client wrote.
//
// Read once per connection (a WeakMap keyed by the socket), not per request.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface VerifiedPeer {
  /** Subject CN of the verified client certificate. */
  subject: string;
  /** SHA-256 fingerprint, for limiter keys and logs (public, not a secret). */
  fingerprint256: string;
}

const peers = new WeakMap<Socket, VerifiedPeer | null>();

function read(socket: TLSSocket): VerifiedPeer | null {
  if (!socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
  // Node gives a list when the subject repeats CN; an ambiguous subject names no one.
  if (typeof cn !== 'string' || cn === '') return null;
  return { subject: cn, fingerprint256: cert.fingerprint256 };
}

export function verifiedPeer(socket: Socket): VerifiedPeer | null {
  if (!(socket instanceof TLSSocket)) return null;
  let peer = peers.get(socket);
  if (peer === undefined) {
    peer = read(socket);
    peers.set(socket, peer);
  }
  return peer;
}
