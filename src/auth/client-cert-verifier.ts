// The client-certificate link of the verifier chain (mode mtls): a client
// certificate the TLS handshake verified against [townhall.mtls] ca_path is
// the credential, matched by its subject CN to a [[townhall.mtls.clients]]
// entry. Principal `cert:<CN>`, with that entry's scopes (never implicit admin).
import type { MtlsClient } from '../config/config.js';
import type { Principal } from './principal.js';
import { NOT_MINE, type Verifier } from './verifier.js';

export function clientCertVerifier(clients: readonly MtlsClient[]): Verifier {
  const bySubject = new Map<string, Principal>(
    clients.map((c) => [c.subject, Object.freeze({ id: `cert:${c.subject}`, scopes: Object.freeze([...c.scopes]) })]),
  );
  return {
    method: 'mtls',
    verify({ peer }) {
      if (peer === null) return NOT_MINE;
      const principal = bySubject.get(peer.subject);
      return principal === undefined ? { kind: 'denied', reason: 'cert_unknown_subject' } : { kind: 'principal', principal };
    },
    provenBefore({ peer }) {
      // The handshake verified it; guessing a certificate is not what the limiter guards.
      return peer !== null && bySubject.has(peer.subject);
    },
  };
}
