// The verifier chain with fake verifiers and a real failure limiter on a fake
// clock: order and "not mine", reasons and the errors they become, what the
// limiter counts, attempts counted when they start (a concurrent burst of
// guesses cannot outrun the limit), and proven credentials let through a block.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthenticator, type AuthResult } from '../../src/auth/authenticate.js';
import { createFailureLimiter } from '../../src/auth/failure-limiter.js';
import type { Credential } from '../../src/auth/credentials.js';
import type { Verifier, VerifierAnswer, VerifierInput } from '../../src/auth/verifier.js';
import { OpError } from '../../src/errors.js';

const clock = { now: () => 1_800_000_000_000 };
const ADMIN = { id: 'k', scopes: ['admin'] as const };

function fake(method: Verifier['method'], answer: (input: VerifierInput) => VerifierAnswer | Promise<VerifierAnswer>, proven = false): Verifier & { calls: number } {
  const v = {
    method,
    calls: 0,
    verify(input: VerifierInput) {
      v.calls++;
      return answer(input);
    },
    provenBefore: () => proven,
  };
  return v;
}

const input = (headers: Record<string, string> = { authorization: 'Bearer abc' }) => ({ headers, clientAddress: '10.0.0.1', peer: null });
// These tests are about the chain: every credential shares one fingerprint, so the limiter acts per address.
const ONE = (): string => '';
const settle = async (r: AuthResult | Promise<AuthResult>): Promise<AuthResult> => r;
/** A slow api_key verifier whose answers all wait until `release()`: a burst is in flight at once. */
function held(answer: VerifierAnswer): { v: Verifier & { calls: number }; release: () => void } {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const v = fake('api_key', async () => {
    await gate;
    return answer;
  });
  return { v, release };
}

describe('createAuthenticator', () => {
  test('the first verifier that claims the request decides; "not mine" passes it on', async () => {
    const first = fake('api_key', () => ({ kind: 'not_mine' }));
    const second = fake('oidc', () => ({ kind: 'principal', principal: ADMIN }));
    const a = createAuthenticator({ verifiers: [first, second], limiter: createFailureLimiter(5, clock), unauthorizedDetail: 'd', fingerprint: ONE });
    const r = await settle(a.authenticate(input()));
    assert.deepEqual(r, { ok: true, principal: ADMIN, method: 'oidc' });
    assert.deepEqual([first.calls, second.calls], [1, 1]);
  });

  test('no credential: missing (not counted); a credential nobody claims: unsupported_credential (counted)', async () => {
    const limiter = createFailureLimiter(1, clock);
    const a = createAuthenticator({ verifiers: [fake('api_key', () => ({ kind: 'not_mine' }))], limiter, unauthorizedDetail: 'd', fingerprint: ONE });
    const missing = await settle(a.authenticate(input({})));
    assert.equal(missing.ok ? '' : missing.reason, 'missing');
    assert.equal(limiter.blockedFor('10.0.0.1'), 0);
    const other = await settle(a.authenticate(input({ 'x-api-key': 'x' })));
    assert.ok(!other.ok && other.reason === 'unsupported_credential' && other.error.extras.bearer_error === 'invalid_token');
    assert.ok(limiter.blockedFor('10.0.0.1') > 0);
  });

  test('each reason becomes its transport-neutral error', async () => {
    const answers: Array<[VerifierAnswer, string]> = [
      [{ kind: 'denied', reason: 'token_expired' }, 'auth.unauthorized'],
      [{ kind: 'denied', reason: 'missing_required_scope', requiredScope: 'townhall' }, 'scope.denied'],
      [{ kind: 'denied', reason: 'jwks_unavailable', retryAfterSecs: 7 }, 'auth.unavailable'],
      [{ kind: 'denied', reason: 'busy' }, 'auth.busy'],
    ];
    for (const [answer, code] of answers) {
      const a = createAuthenticator({ verifiers: [fake('oidc', () => answer)], limiter: createFailureLimiter(100, clock), unauthorizedDetail: 'd', fingerprint: ONE });
      const r = await settle(a.authenticate(input()));
      assert.ok(!r.ok && r.error instanceof OpError);
      assert.equal(r.error.code, code);
    }
    const a = createAuthenticator({ verifiers: [fake('oidc', () => answers[2]![0])], limiter: createFailureLimiter(100, clock), unauthorizedDetail: 'd', fingerprint: ONE });
    const r = await settle(a.authenticate(input()));
    assert.equal(r.ok ? 0 : r.error.extras.retry_after_secs, 7);
  });

  test('a burst of concurrent slow guesses: each is counted when it starts, so only the limit reaches the verifier', async () => {
    const { v, release } = held({ kind: 'denied', reason: 'wrong_secret' });
    const limiter = createFailureLimiter(5, clock);
    // Distinct guesses (a fingerprint each): the address's ceiling, 5 times the limit, is what binds.
    const a = createAuthenticator({ verifiers: [v], limiter, unauthorizedDetail: 'd', fingerprint: (c) => (c.kind === 'bearer' ? c.token : '') });
    const pending = Array.from({ length: 30 }, (_, n) => settle(a.authenticate(input({ authorization: `Bearer guess${n}` }))));
    release();
    const reasons = (await Promise.all(pending)).map((r) => (r.ok ? 'ok' : r.reason));
    assert.equal(v.calls, 25);
    assert.equal(reasons.filter((r) => r === 'wrong_secret').length, 25);
    assert.equal(reasons.filter((r) => r === 'rate_limited').length, 5);
  });

  test("concurrent slow attempts with one credential count once while they run: a valid key's burst is never limited", async () => {
    const { v, release } = held({ kind: 'principal', principal: ADMIN });
    const limiter = createFailureLimiter(5, clock);
    const a = createAuthenticator({ verifiers: [v], limiter, unauthorizedDetail: 'd', fingerprint: ONE });
    const pending = Array.from({ length: 30 }, () => settle(a.authenticate(input())));
    release();
    assert.deepEqual((await Promise.all(pending)).map((r) => r.ok), Array(30).fill(true));
    assert.equal(limiter.blockedFor('10.0.0.1', () => ''), 0, 'nothing left counted');
  });

  test('concurrent slow attempts with one wrong credential: each failure is counted once it fails', async () => {
    const { v, release } = held({ kind: 'denied', reason: 'wrong_secret' });
    const limiter = createFailureLimiter(5, clock);
    const a = createAuthenticator({ verifiers: [v], limiter, unauthorizedDetail: 'd', fingerprint: ONE });
    const pending = Array.from({ length: 30 }, () => settle(a.authenticate(input())));
    release();
    assert.deepEqual((await Promise.all(pending)).map((r) => (r.ok ? 'ok' : r.reason)), Array(30).fill('wrong_secret'));
    const next = await settle(a.authenticate(input()));
    assert.ok(!next.ok && next.reason === 'rate_limited', 'the failures were counted: the next attempt is limited');
  });

  test('a slow attempt that succeeds is taken back: good clients never fill the limiter', async () => {
    const v = fake('api_key', async () => ({ kind: 'principal', principal: ADMIN }));
    const limiter = createFailureLimiter(2, clock);
    const a = createAuthenticator({ verifiers: [v], limiter, unauthorizedDetail: 'd', fingerprint: ONE });
    for (let i = 0; i < 10; i++) assert.equal((await settle(a.authenticate(input()))).ok, true);
    assert.equal(limiter.blockedFor('10.0.0.1'), 0);
  });

  test('while blocked, only a credential some verifier already proved is verified', async () => {
    const limiter = createFailureLimiter(1, clock);
    limiter.recordFailure('10.0.0.1');
    const unproven = fake('api_key', () => ({ kind: 'principal', principal: ADMIN }));
    const r = await settle(createAuthenticator({ verifiers: [unproven], limiter, unauthorizedDetail: 'd', fingerprint: ONE }).authenticate(input()));
    assert.ok(!r.ok && r.reason === 'rate_limited' && r.error.code === 'rate.limited');
    assert.equal(unproven.calls, 0);
    const proven = fake('api_key', () => ({ kind: 'principal', principal: ADMIN }), true);
    assert.equal((await settle(createAuthenticator({ verifiers: [proven], limiter, unauthorizedDetail: 'd', fingerprint: ONE }).authenticate(input()))).ok, true);
  });

  test("with real fingerprints, one credential's failures do not block another from the same address", async () => {
    const limiter = createFailureLimiter(2, clock);
    const v = fake('api_key', (i) => (i.credential.kind === 'bearer' && i.credential.token === 'good' ? { kind: 'principal', principal: ADMIN } : { kind: 'denied', reason: 'wrong_secret' }));
    const a = createAuthenticator({ verifiers: [v], limiter, unauthorizedDetail: 'd' });
    for (let i = 0; i < 2; i++) assert.equal((await settle(a.authenticate(input({ authorization: 'Bearer bad' })))).ok, false);
    const blocked = await settle(a.authenticate(input({ authorization: 'Bearer bad' })));
    assert.ok(!blocked.ok && blocked.reason === 'rate_limited');
    assert.equal((await settle(a.authenticate(input({ authorization: 'Bearer good' })))).ok, true);
  });

  test('after a failure on an address, a connection keeps its fingerprint for the credential it was made for', async () => {
    const limiter = createFailureLimiter(100, clock);
    const made: string[] = [];
    const fingerprint = (c: Credential): string => {
      made.push(c.kind === 'basic' ? `b:${c.keyId}` : c.kind === 'bearer' || c.kind === 'x-api-key' ? `${c.kind}:${c.token}` : c.kind);
      return made[made.length - 1]!;
    };
    const v = fake('api_key', (i) => (i.credential.kind === 'bearer' && i.credential.token === 'bad' ? { kind: 'denied', reason: 'wrong_secret' } : { kind: 'principal', principal: ADMIN }));
    const a = createAuthenticator({ verifiers: [v], limiter, unauthorizedDetail: 'd', fingerprint });
    const [one, two] = [{}, {}];
    const on = (connection: object, authorization: string) => settle(a.authenticate({ ...input({ authorization }), connection }));
    assert.equal((await on(one, 'Bearer bad')).ok, false); // the address now has a failure: every request asks the limiter
    made.length = 0;
    for (let i = 0; i < 3; i++) assert.equal((await on(two, 'Bearer good')).ok, true);
    assert.deepEqual(made, ['bearer:good'], 'one fingerprint for three requests on one connection');
    assert.equal((await on(two, 'Bearer other')).ok, true);
    assert.equal((await on(one, 'Bearer good')).ok, true);
    assert.deepEqual(made, ['bearer:good', 'bearer:other', 'bearer:good'], 'a new credential, or another connection, gets its own');
    const basic = (token: string) => `Basic ${Buffer.from(`id:${token}`).toString('base64')}`;
    await on(two, basic('x'));
    await on(two, basic('y'));
    assert.equal(made.filter((m) => m === 'b:id').length, 1, 'a Basic fingerprint is the key id: the same for any secret');
  });
});
