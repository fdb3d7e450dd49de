// A tiny OpenID Connect provider on loopback for tests: a discovery document
// and a JWKS served over node:http, signing keys made in the test run with
// jose, request counters, and a switch that takes the provider down.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'PS256' | 'ES256' | 'EdDSA';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export interface TestIdp {
  issuer: string;
  jwksUrl: string;
  /** Requests served, by path. */
  hits: Record<string, number>;
  /** Keys currently published in the JWKS. */
  published: SigningKey[];
  down: boolean;
  newKey(kid: string, alg?: SigningKey['alg']): Promise<SigningKey>;
  /** A signed token; `claims` override the defaults (iss, aud, sub, iat, exp = now + 10 min, scope). */
  token(key: SigningKey, claims?: JWTPayload, nowMs?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startTestIdp(audience: string): Promise<TestIdp> {
  const hits: Record<string, number> = {};
  let issuer = '';
  const idp: TestIdp = {
    issuer: '',
    jwksUrl: '',
    hits,
    published: [],
    down: false,
    async newKey(kid, alg = 'ES256') {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
      return { kid, alg, privateKey, publicKey, jwk };
    },
    async token(key, claims = {}, nowMs = Date.now()) {
      const now = Math.floor(nowMs / 1000);
      const payload: JWTPayload = { iss: issuer, aud: audience, sub: 'user-1', iat: now, exp: now + 600, scope: 'town.read', ...claims };
      return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
    },
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits[path] = (hits[path] ?? 0) + 1;
    if (idp.down) {
      res.writeHead(503).end();
      return;
    }
    let body: unknown;
    if (path === '/.well-known/openid-configuration') body = { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['ES256'] };
    else if (path === '/jwks') body = { keys: idp.published.map((k) => k.jwk) };
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  idp.issuer = issuer;
  idp.jwksUrl = `${issuer}/jwks`;
  idp.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return idp;
}
