// The Townhall configurations the benchmarks start, and the credentials they
// present: one admin API key (Argon2id-hashed here, at the default cost),
// offered as Bearer, X-API-Key or Basic key-id:token.
import { randomBytes } from 'node:crypto';
import { hashToken } from '../src/auth/argon2-hash.js';

export interface Credentials {
  bearer: Record<string, string>;
  xApiKey: Record<string, string>;
  basic: Record<string, string>;
  /** TOML for [townhall.auth] with the key (mode api_key). */
  authToml: string;
}

export async function createCredentials(): Promise<Credentials> {
  const token = randomBytes(32).toString('hex');
  const hash = await hashToken(token);
  return {
    bearer: { Authorization: `Bearer ${token}` },
    xApiKey: { 'X-API-Key': token },
    basic: { Authorization: `Basic ${Buffer.from(`bench:${token}`).toString('base64')}` },
    authToml: `[townhall.auth]\nmode = "api_key"\nmax_failed_attempts_per_minute = 1000000\n[[townhall.auth.keys]]\nid = "bench"\nhash = "${hash}"\nscopes = ["admin"]\n`,
  };
}

export const storeToml = (durability: 'always' | 'none', extra = ''): string => `[townhall.store]\ndurability = "${durability}"\n${extra}`;

/** The body every write benchmark posts to /v1/backlog (and the bare server parses). */
export const BACKLOG_BODY = JSON.stringify({ description: 'bench task', tags: ['bench'] });
export const JSON_HEADERS = { 'Content-Type': 'application/json' };
