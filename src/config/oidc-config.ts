// The OpenID Connect keys of [townhall.auth] -> a checked OidcConfig (mode
// `oidc` only; in other modes Tinytown's file still carries them, unused).
//
// Security: the issuer and the JWKS URL must be HTTPS, except on loopback
// (a local identity provider or a test), since the JWKS decides who may act.
import { ConfigError, DEFAULTS, isLoopback, type OidcConfig } from './config.js';
import { read, type TomlTable } from './toml-file.js';

const AUTH = '[townhall.auth]';

/** Whether an identity-provider URL may be used: https: anywhere, http: only on a loopback host. */
export function isAllowedIdpUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(host));
}

function checkUrl(value: string, key: string): void {
  if (!URL.canParse(value)) throw new ConfigError(`${AUTH} ${key}: not a URL: ${value}`);
  if (!isAllowedIdpUrl(value)) throw new ConfigError(`${AUTH} ${key}: must be an https:// URL (http:// only on a loopback address): ${value}`);
}

export function readOidcConfig(authT: TomlTable): OidcConfig {
  const issuer = read.string(authT, 'issuer', AUTH);
  if (issuer === undefined || issuer === '') throw new ConfigError(`${AUTH} issuer: required in mode "oidc" (the identity provider's issuer URL, as in its tokens' "iss")`);
  checkUrl(issuer, 'issuer');
  const audienceRaw = authT['audience'];
  const audience =
    typeof audienceRaw === 'string' ? [audienceRaw]
    : Array.isArray(audienceRaw) && audienceRaw.every((a) => typeof a === 'string') ? (audienceRaw as string[])
    : audienceRaw === undefined ? []
    : null;
  if (audience === null) throw new ConfigError(`${AUTH} audience: must be a string or a list of strings`);
  if (audience.length === 0 || audience.some((a) => a === '')) {
    throw new ConfigError(`${AUTH} audience: required in mode "oidc" (the "aud" your identity provider puts in tokens for Townhall)`);
  }
  const jwks = read.string(authT, 'jwks_url', AUTH);
  if (jwks !== undefined && jwks !== '') checkUrl(jwks, 'jwks_url');
  const jwksUrl = jwks === undefined || jwks === '' ? null : jwks;
  const requiredScopes = read.stringList(authT, 'required_scopes', AUTH) ?? [];
  if (requiredScopes.some((s) => !/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/.test(s))) {
    throw new ConfigError(`${AUTH} required_scopes: each scope must be 1-128 printable characters without spaces, quotes or backslashes`);
  }
  return {
    issuer,
    audience,
    jwksUrl,
    requiredScopes,
    clockSkewSecs: read.integer(authT, 'clock_skew_seconds', AUTH, 0, 3600) ?? DEFAULTS.clockSkewSecs,
  };
}
