// Random API tokens over [A-Za-z0-9], straight from the CSPRNG.
//
// Security: `byte % 62` alone would be biased (256 is not a multiple of 62, so
// the first 8 characters would come up 5/256 instead of 4/256 of the time).
// We reject bytes >= 248 (= 62 * 4), so every accepted byte maps onto the 62
// characters exactly four times and each character is equally likely.
// 62 symbols give log2(62) ≈ 5.95 bits per character: 64 characters ≈ 381 bits.
import { randomBytes } from 'node:crypto';

export const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const ALPHABET_SIZE = TOKEN_ALPHABET.length; // 62
const REJECT_FROM = 256 - (256 % ALPHABET_SIZE); // 248

/** A token of exactly `length` characters from TOKEN_ALPHABET, without modulo bias. */
export function generateToken(length: number): string {
  if (!Number.isSafeInteger(length) || length < 1) {
    throw new RangeError('token length must be a positive integer');
  }
  let out = '';
  while (out.length < length) {
    const missing = length - out.length;
    // About 3% of bytes are rejected; ask for a little more than we need so
    // one batch almost always suffices, and loop for the rare shortfall.
    const bytes = randomBytes(missing + (missing >> 4) + 8);
    for (const byte of bytes) {
      if (byte >= REJECT_FROM) continue;
      out += TOKEN_ALPHABET[byte % ALPHABET_SIZE];
      if (out.length === length) break;
    }
  }
  return out;
}
