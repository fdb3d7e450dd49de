// The node:http (or, with TLS, node:https) server around the pipeline: socket
// limits, listening, certificate swaps on reload, and a graceful stop (stop
// accepting, end long-polls, let in-flight requests finish within a bounded
// wait, then cut what is left).
import { createServer, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { Pipeline } from './pipeline.js';

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly address: string;
  readonly scheme: 'http' | 'https';
  /** New handshakes use this certificate/key/CA; open connections keep theirs. HTTPS only. */
  setSecureContext(options: SecureContextOptions): void;
  /** Graceful stop; resolves when every connection is closed. */
  close(graceMs?: number): Promise<void>;
}

export interface ListenOptions {
  bind: string;
  port: number;
  requestTimeoutMs: number;
  /** HTTPS with these options; absent: plain HTTP. */
  tls?: TlsOptions;
}

export async function startHttpServer(pipeline: Pipeline, opts: ListenOptions): Promise<RunningServer> {
  const httpOptions: ServerOptions = {
    // Header and request-receipt bounds: slow or huge headers cannot pin a socket.
    maxHeaderSize: 16 * 1024,
    headersTimeout: Math.min(60_000, opts.requestTimeoutMs + 1000),
    requestTimeout: opts.requestTimeoutMs + 1000,
    keepAliveTimeout: 5000,
  };
  const onRequest: Parameters<typeof createServer>[1] = (req, res) => {
    void pipeline.handle(req, res);
  };
  const tlsServer = opts.tls === undefined ? null : createHttpsServer({ ...httpOptions, ...opts.tls }, onRequest);
  // https.Server is an http.Server over TLS sockets: the rest of this file treats both alike.
  const server: Server = tlsServer ?? createServer(httpOptions, onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bind.replace(/^\[(.*)\]$/, '$1'), () => {
      server.off('error', reject);
      resolve();
    });
  });
  const info = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;

  return {
    server,
    port: info.port,
    address: info.address,
    scheme: tlsServer === null ? 'http' : 'https',
    setSecureContext(options) {
      if (tlsServer === null) throw new Error('setSecureContext on a plain HTTP server');
      tlsServer.setSecureContext(options);
    },
    close(graceMs = 10_000) {
      closing ??= (async () => {
        pipeline.beginShutdown();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const deadline = Date.now() + graceMs;
        while (pipeline.inFlight > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          server.closeIdleConnections();
        }
        server.closeAllConnections();
        await closed;
        pipeline.close();
      })();
      return closing;
    },
  };
}
