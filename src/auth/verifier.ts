// The shape every credential verifier has. Authentication is an ordered chain
// of verifiers (authenticate.ts); each sees the same request facts and answers
// with a principal, "not mine" (the next one may try), or a denial with a
// reason from denial-reasons.ts.
import type { IncomingHttpHeaders } from 'node:http';
import type { VerifiedPeer } from '../tls/peer-certificate.js';
import type { Credential } from './credentials.js';
import type { DenialReason } from './denial-reasons.js';
import type { Principal } from './principal.js';

/** How a request was authenticated, for the audit `auth=` field. */
export type AuthMethod = 'api_key' | 'oidc' | 'mtls' | 'none';

export interface AuthInput {
  headers: IncomingHttpHeaders;
  /** The client address the limiter and the audit use. */
  clientAddress: string;
  /** The client certificate the TLS handshake verified, or null. */
  peer: VerifiedPeer | null;
  /** The connection the request came on (its socket), so a credential it already proved can be recognised cheaply. */
  connection?: object | undefined;
}

/** What a verifier sees: the input plus the credential, parsed once for all verifiers. */
export interface VerifierInput extends AuthInput {
  credential: Credential;
}

export type VerifierAnswer =
  | { kind: 'principal'; principal: Principal }
  | { kind: 'not_mine' }
  | {
      kind: 'denied';
      reason: DenialReason;
      /** For missing_required_scope: the scope the 403 names. */
      requiredScope?: string;
      /** For jwks_unavailable: seconds for Retry-After. */
      retryAfterSecs?: number;
    };

export interface Verifier {
  readonly method: Exclude<AuthMethod, 'none'>;
  /** Synchronous when no slow work is needed (a cache hit, a refusal). */
  verify(input: VerifierInput): VerifierAnswer | Promise<VerifierAnswer>;
  /**
   * True when this verifier would accept the credential without new evidence
   * (a key already in the verified cache, a certificate the handshake
   * verified): such a credential is let through while the address is blocked
   * by the failure limiter, since it proves nothing about guesses.
   */
  provenBefore(input: VerifierInput): boolean;
}

export const NOT_MINE: VerifierAnswer = Object.freeze({ kind: 'not_mine' });
