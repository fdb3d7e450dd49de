// HTTPS requests for tests: trust a test CA, optionally present a client
// certificate, optionally reuse a keep-alive agent, and report which server
// certificate the connection saw.
import { Agent, request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { readResponse } from './read-response.js';

export interface HttpsOptions {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  agent?: Agent;
  headers?: Record<string, string>;
  method?: string;
  body?: unknown;
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface HttpsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
  /** SHA-256 fingerprint of the server certificate this connection saw. */
  serverFingerprint: string;
  /** The local port of the connection (tells one keep-alive connection from another). */
  localPort: number;
}

export function httpsRequest(port: number, path: string, opts: HttpsOptions): Promise<HttpsResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  let payload: Buffer | undefined;
  if (opts.body !== undefined) {
    payload = Buffer.from(JSON.stringify(opts.body));
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers,
        ca: opts.ca,
        ...(opts.cert === undefined ? {} : { cert: opts.cert }),
        ...(opts.key === undefined ? {} : { key: opts.key }),
        ...(opts.maxVersion === undefined ? {} : { maxVersion: opts.maxVersion }),
        // No agent: a fresh connection per request, unless a keep-alive agent is given.
        agent: opts.agent ?? false,
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const serverFingerprint = socket.getPeerCertificate().fingerprint256;
        const localPort = socket.localPort ?? 0;
        readResponse(res).then((r) => resolve({ ...r, serverFingerprint, localPort }), reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A keep-alive agent with one socket, so consecutive requests share a connection. */
export function keepAliveAgent(ca: Buffer): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1, ca });
}
