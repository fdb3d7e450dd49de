// Token selectors: the first characters of an API token that say which key it
// belongs to, so the server runs Argon2 against that key's hash only, however
// many keys are configured (issue 8, item 8). Like the public prefixes of
// GitHub (`ghp_`) and Stripe (`sk_live_`) tokens, but drawn from the token's
// own alphabet, so a token keeps its documented form: `--token-length`
// characters of [A-Za-z0-9].
//
//   selector = the first 8 base62 digits of SHA-256("townhall-token-selector/v1\0" + key id)
//   token    = selector + (length - 8) random characters
//
// Security notes:
// - The selector is public information about the key id (anyone who knows an
//   id can compute it); it carries none of the token's secret. 64-character
//   tokens keep 56 random characters (~333 bits), the 32-character minimum 24 (~143 bits).
// - It is an index, not a proof: a token is accepted only when its whole
//   value verifies against the key's Argon2id hash.
// - A token made without a selector (Tinytown's hex keys, older auth-tool
//   output) still works; one that begins by chance with another key's
//   selector (odds 62^-8 per key) would be tried against that key only and
//   has to be replaced.
import { createHash } from 'node:crypto';

export const SELECTOR_LENGTH = 8;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// The form auth-tool gives every token (at least its 32-character minimum).
const SELECTOR_TOKEN = /^[A-Za-z0-9]{32,4096}$/;

/** The selector tokens for this key id begin with. */
export function selectorForKeyId(keyId: string): string {
  // A 256-bit number reduced 8 times mod 62: bias below 2^-200.
  let n = BigInt(`0x${createHash('sha256').update(`townhall-token-selector/v1\0${keyId}`, 'utf8').digest('hex')}`);
  let out = '';
  for (let i = 0; i < SELECTOR_LENGTH; i++) {
    out += ALPHABET[Number(n % 62n)];
    n /= 62n;
  }
  return out;
}

/** The selector a token would carry if it has one, or null when it cannot (not of auth-tool's form). */
export function selectorOf(token: string): string | null {
  return SELECTOR_TOKEN.test(token) ? token.slice(0, SELECTOR_LENGTH) : null;
}

/** A token of `length` characters that begins with the key's selector; `random(n)` supplies the rest. */
export function tokenWithSelector(keyId: string, length: number, random: (n: number) => string): string {
  if (length < 32) throw new RangeError('a token with a selector is at least 32 characters');
  return selectorForKeyId(keyId) + random(length - SELECTOR_LENGTH);
}
