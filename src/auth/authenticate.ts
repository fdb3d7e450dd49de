// Turns a request's headers, client address and verified client certificate
// into a Principal or a refusal, by running an ordered chain of verifiers
// (API key, OIDC, client certificate; see verifier.ts). The first verifier
// that does not answer "not mine" decides. The refusal's reason, from the one
// closed list in denial-reasons.ts, goes to the limiter, the audit log and
// the metrics alike; the client always sees the same 401.
//
// The failure limiter counts per address and credential fingerprint, with a
// higher per-address ceiling (failure-limiter.ts): a blocked attempt gets 429
// without any verification, except for a credential some verifier already
// proved (a key in the verified cache, a handshake-verified certificate), so
// one client with a stale key cannot lock out its neighbours' good keys.
// An attempt that needs slow work (Argon2, a token check) counts as a failure
// when it starts and is taken back if it does not fail, so a burst of
// concurrent guesses cannot all be verified before the first one is counted.
// Concurrent attempts with one credential are one guess: only the first counts
// while they run, and each that fails counts when it fails.
import { OpError, type ErrorExtras } from '../errors.js';
import { createCredentialParser } from './credentials.js';
import { DENIAL_REASONS, type DenialReason } from './denial-reasons.js';
import { createCredentialIdentity, processFingerprinter, type CredentialFingerprinter } from './credential-fingerprint.js';
import type { FailureLimiter } from './failure-limiter.js';
import type { Principal } from './principal.js';
import type { Credential } from './credentials.js';
import type { AuthInput, AuthMethod, Verifier, VerifierAnswer, VerifierInput } from './verifier.js';

export type AuthResult =
  | { ok: true; principal: Principal; method: AuthMethod }
  | { ok: false; error: OpError; reason: DenialReason; method: AuthMethod };

export interface Authenticator {
  /** Synchronous when the answer needs no slow work (mode none, a cached key, a refusal). */
  authenticate(input: AuthInput): AuthResult | Promise<AuthResult>;
}

const LOCAL: Principal = { id: 'local', scopes: ['admin'] };

/** Mode none: everyone is the local admin (loopback only, enforced by the config). */
export function createOpenAuthenticator(): Authenticator {
  const local: AuthResult = { ok: true, principal: LOCAL, method: 'none' };
  return { authenticate: () => local };
}

export interface ChainOptions {
  verifiers: readonly Verifier[];
  limiter: FailureLimiter;
  /** The `detail` of every 401, e.g. "A valid API key is required." */
  unauthorizedDetail: string;
  /** What the limiter counts against besides the address; default: one per process, stable across reloads. */
  fingerprint?: CredentialFingerprinter;
}

/** A connection's last fingerprint, and the credential it was made for. */
interface FingerprintMemo {
  credential: Credential;
  fingerprint: string;
}

/** Whether two credentials have the same fingerprint by construction (credential-fingerprint.ts); the peer is the connection's. */
function sameFingerprintSource(a: Credential, b: Credential): boolean {
  switch (a.kind) {
    case 'none':
      return b.kind === 'none';
    case 'malformed':
      return b.kind === 'malformed' && b.scheme === a.scheme;
    case 'basic':
      return b.kind === 'basic' && b.keyId === a.keyId;
    case 'bearer':
    case 'x-api-key':
      return b.kind === a.kind && b.token === a.token;
  }
}

/**
 * The request as the verifiers and the limiter see it. A class, not a spread
 * object with a getter: this runs on every authenticated request. The
 * fingerprint (a keyed hash) is made on first use: a good client on an address
 * with no failures never needs it. Once an address has a failure, every
 * request from it needs one (the limiter asks), so it is kept per connection
 * for the credential it was made for: one agent's wrong key must not make
 * its neighbours on the same address pay a keyed hash per request for the
 * next minute. Like the API-key memo (api-keys.ts), a connection's entry is
 * compared only with what the same connection sends, and lives as long as it.
 */
class Attempt implements VerifierInput {
  private fp: string | undefined;
  /** The address and the whole credential, once a slow verification needs it (see startSlowAttempt). */
  slowKey: string | undefined = undefined;
  readonly headers: AuthInput['headers'];
  readonly clientAddress: string;
  readonly peer: AuthInput['peer'];
  readonly connection: object | undefined;

  constructor(
    auth: AuthInput,
    readonly credential: Credential,
    private readonly fingerprintOf: CredentialFingerprinter,
    private readonly memos: WeakMap<object, FingerprintMemo>,
  ) {
    this.headers = auth.headers;
    this.clientAddress = auth.clientAddress;
    this.peer = auth.peer;
    this.connection = auth.connection;
  }

  get fingerprint(): string {
    if (this.fp !== undefined) return this.fp;
    const { connection, credential } = this;
    const memo = connection === undefined ? undefined : this.memos.get(connection);
    if (memo !== undefined && sameFingerprintSource(memo.credential, credential)) return (this.fp = memo.fingerprint);
    this.fp = this.fingerprintOf(credential, this.peer);
    if (connection !== undefined) this.memos.set(connection, { credential, fingerprint: this.fp });
    return this.fp;
  }
}

export function createAuthenticator(opts: ChainOptions): Authenticator {
  const { verifiers, limiter } = opts;
  const fingerprintOf = opts.fingerprint ?? processFingerprinter;
  const fingerprints = new WeakMap<object, FingerprintMemo>();
  // A keep-alive connection repeating its header is not parsed again (credentials.ts).
  const parseCredential = createCredentialParser();
  if (verifiers.length === 0) throw new Error('an authenticator needs at least one verifier');

  function errorFor(reason: DenialReason, answer: VerifierAnswer | null, presented: boolean, retryAfter: number): OpError {
    const code = DENIAL_REASONS[reason].code;
    switch (code) {
      case 'auth.unauthorized': {
        // RFC 6750: a presented credential that failed is an invalid_token; a missing one carries no error.
        const extras: ErrorExtras = presented ? { bearer_error: 'invalid_token' } : {};
        return new OpError(code, opts.unauthorizedDetail, extras);
      }
      case 'scope.denied': {
        const scope = answer?.kind === 'denied' ? (answer.requiredScope ?? '') : '';
        return new OpError(code, `This operation requires the "${scope}" scope.`, { required_scope: scope });
      }
      case 'rate.limited':
        return new OpError(code, 'Too many failed authentication attempts; try again later.', { retry_after_secs: retryAfter });
      case 'auth.busy':
        return new OpError(code, 'The server is busy verifying credentials; retry shortly.', { retry_after_secs: 1 });
      case 'auth.unavailable': {
        const secs = answer?.kind === 'denied' ? (answer.retryAfterSecs ?? 5) : 5;
        return new OpError(code, "The identity provider's signing keys cannot be fetched; retry shortly.", { retry_after_secs: secs });
      }
    }
  }

  function deny(input: Attempt, reason: DenialReason, method: AuthMethod, answer: VerifierAnswer | null = null, retryAfter = 0, counted = false): AuthResult {
    if (DENIAL_REASONS[reason].counts && !counted) limiter.recordFailure(input.clientAddress, input.fingerprint);
    const presented = input.credential.kind !== 'none' || input.peer !== null;
    return { ok: false, reason, method, error: errorFor(reason, answer, presented, retryAfter) };
  }

  /** The result for a verifier's answer, or null to go on down the chain. `counted`: a failure was recorded when the attempt started. */
  function conclude(input: Attempt, verifier: Verifier, answer: VerifierAnswer, counted = false): AuthResult | null {
    if (counted && !(answer.kind === 'denied' && DENIAL_REASONS[answer.reason].counts)) limiter.withdraw(input.clientAddress, input.fingerprint);
    if (answer.kind === 'not_mine') return null;
    if (answer.kind === 'principal') return { ok: true, principal: answer.principal, method: verifier.method };
    return deny(input, answer.reason, verifier.method, answer, 0, counted);
  }

  function unclaimed(input: Attempt): AuthResult {
    return deny(input, input.credential.kind === 'none' ? 'missing' : 'unsupported_credential', 'none');
  }

  // Slow attempts in flight, per address and credential. Concurrent attempts with one credential
  // are one guess (api-keys.ts runs Argon2 once for them), so only the first counts when it starts;
  // the others count only if they fail. Counting each let a busy client's burst of requests with a
  // valid key, arriving as its cached verification expired, block itself (429).
  // Keyed by the whole credential, not its fingerprint: every guess at one key shares a fingerprint.
  const slow = new Map<string, number>();
  const identityOf = createCredentialIdentity();
  const slowKey = (input: Attempt): string => (input.slowKey ??= `${input.clientAddress}\0${identityOf(input.credential, input.peer)}`);

  /** Registers a slow attempt; returns whether it counted as a failure now (to be withdrawn unless it fails). */
  function startSlowAttempt(input: Attempt): boolean {
    const key = slowKey(input);
    const running = slow.get(key) ?? 0;
    slow.set(key, running + 1);
    if (running > 0) return false;
    limiter.recordFailure(input.clientAddress, input.fingerprint);
    return true;
  }

  function endSlowAttempt(input: Attempt): void {
    const key = slowKey(input);
    const running = slow.get(key) ?? 1;
    if (running <= 1) slow.delete(key);
    else slow.set(key, running - 1);
  }

  function runFrom(input: Attempt, start: number): AuthResult | Promise<AuthResult> {
    for (let i = start; i < verifiers.length; i++) {
      const verifier = verifiers[i]!;
      const answer = verifier.verify(input);
      if (answer instanceof Promise) {
        const counted = startSlowAttempt(input);
        return answer.then(
          (a) => {
            endSlowAttempt(input);
            return conclude(input, verifier, a, counted) ?? runFrom(input, i + 1);
          },
          (err: unknown) => {
            endSlowAttempt(input);
            if (counted) limiter.withdraw(input.clientAddress, input.fingerprint);
            throw err;
          },
        );
      }
      const result = conclude(input, verifier, answer);
      if (result !== null) return result;
    }
    return unclaimed(input);
  }

  return {
    authenticate(auth) {
      const input = new Attempt(auth, parseCredential(auth.headers, auth.connection), fingerprintOf, fingerprints);
      if (input.credential.kind === 'none' && input.peer === null) return deny(input, 'missing', 'none');
      const retryAfter = limiter.blockedFor(input.clientAddress, () => input.fingerprint);
      if (retryAfter > 0 && !verifiers.some((v) => v.provenBefore(input))) return deny(input, 'rate_limited', 'none', null, retryAfter);
      return runFrom(input, 0);
    },
  };
}
