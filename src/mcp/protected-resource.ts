// OAuth 2.0 Protected Resource Metadata (RFC 9728) for /mcp, and the 401
// challenge that points MCP clients at it (MCP authorization, 2025-06-18).
// The document names the OIDC issuer in `authorization_servers` when one is
// configured; with API keys only it still tells clients how to send a token.
//
// The base URL comes from configuration when given, otherwise from the
// socket's own address (never from the Host header, which a client controls).
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { SCOPES } from '../auth/scopes.js';

export const METADATA_PATH = '/.well-known/oauth-protected-resource';

export function baseUrlOf(req: IncomingMessage, publicUrl: string | undefined): string {
  if (publicUrl !== undefined) return publicUrl.replace(/\/+$/, '');
  const socket = req.socket as TLSSocket;
  const scheme = socket.encrypted === true ? 'https' : 'http';
  const addr = (socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  return `${scheme}://${addr.includes(':') ? `[${addr}]` : addr}:${socket.localPort ?? 0}`;
}

export function bearerChallenge(base: string): string {
  return `Bearer realm="townhall", resource_metadata="${base}${METADATA_PATH}"`;
}

export function resourceMetadata(base: string, issuer: string | undefined): Record<string, unknown> {
  return {
    resource: `${base}/mcp`,
    ...(issuer === undefined ? {} : { authorization_servers: [issuer] }),
    bearer_methods_supported: ['header'],
    scopes_supported: [...SCOPES],
    resource_name: 'Townhall',
  };
}
