// Argon2id PHC strings: parse, check strength, normalize parameter order, and
// hash/verify through the `argon2` package.
//
// Other tools write the parameters in different orders (`m,t,p` in the PHC
// spec, Tinytown and argon2-cffi; `m,p,t` in node's `argon2`). We accept any
// order on input and always write `m=…,t=…,p=…` so every hash we print
// verifies in Python's argon2-cffi (Buttercup) as well.
//
// Security: never include the hash or the token in an error message; the
// messages here only describe the shape that was expected.
import argon2 from 'argon2';

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export interface ParsedPhc extends Argon2Params {
  version: number;
  salt: string;
  hash: string;
}

const PHC = /^\$argon2id\$v=(\d+)\$([a-z0-9=,]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Parse an Argon2id PHC string; returns a reason string when it is not one. */
export function parseArgon2idPhc(phc: string): ParsedPhc | string {
  const m = PHC.exec(phc.trim());
  if (!m) return 'is not an Argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)';
  const [, version, paramText, salt, hash] = m as unknown as [string, string, string, string, string];
  const params = new Map<string, number>();
  for (const part of paramText.split(',')) {
    const kv = /^([mtp])=(\d{1,10})$/.exec(part);
    if (!kv || params.has(kv[1]!)) return 'has malformed parameters (expected m=…,t=…,p=… once each)';
    params.set(kv[1]!, Number(kv[2]));
  }
  const memoryCost = params.get('m');
  const timeCost = params.get('t');
  const parallelism = params.get('p');
  if (memoryCost === undefined || timeCost === undefined || parallelism === undefined) {
    return 'is missing one of the m, t, p parameters';
  }
  if (Number(version) !== 19) return 'uses an Argon2 version other than 19';
  if (timeCost < 1 || parallelism < 1 || memoryCost < 8 * parallelism) return 'has out-of-range parameters';
  if (salt.length < 11 || hash.length < 22) return 'has a salt or hash that is too short';
  return { version: 19, memoryCost, timeCost, parallelism, salt, hash };
}

// OWASP Password Storage Cheat Sheet: equivalent minimum (m KiB, t) pairs.
const OWASP_MINIMUMS: ReadonlyArray<readonly [number, number]> = [
  [47104, 1],
  [19456, 2],
  [12288, 3],
  [9216, 4],
  [7168, 5],
];

export function meetsOwaspMinimum(p: Argon2Params): boolean {
  return OWASP_MINIMUMS.some(([m, t]) => p.memoryCost >= m && p.timeCost >= t);
}

/** The PHC string with parameters in canonical `m,t,p` order. */
export function formatPhc(p: ParsedPhc): string {
  return `$argon2id$v=${p.version}$m=${p.memoryCost},t=${p.timeCost},p=${p.parallelism}$${p.salt}$${p.hash}`;
}

export const DEFAULT_HASH_PARAMS: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Hash a token with Argon2id and return the PHC string in `m,t,p` order. */
export async function hashToken(token: string, params: Argon2Params = DEFAULT_HASH_PARAMS): Promise<string> {
  const { memoryCost, timeCost, parallelism } = params;
  const raw = await argon2.hash(token, { type: argon2.argon2id, memoryCost, timeCost, parallelism });
  const parsed = parseArgon2idPhc(raw);
  if (typeof parsed === 'string') throw new Error('argon2 produced an unexpected hash format');
  return formatPhc(parsed);
}

/** Verify a token against a PHC string in any parameter order. False on malformed input. */
export async function verifyToken(phc: string, token: string): Promise<boolean> {
  const parsed = parseArgon2idPhc(phc);
  if (typeof parsed === 'string') return false;
  try {
    return await argon2.verify(formatPhc(parsed), token);
  } catch {
    return false;
  }
}
