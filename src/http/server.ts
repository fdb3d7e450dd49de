// The node:http (or, with TLS, node:https) server around the pipeline:
// connection and header limits, one request at a time per connection,
// listening, certificate swaps on reload, and a graceful stop (stop accepting,
// end long-polls, let in-flight requests finish within a bounded wait, then
// cut what is left).
//
// Security: a client that pipelines requests without reading the answers
// gets at most one answer built beyond what its socket has taken (the next
// request waits until the socket drains), and a connection with more than
// MAX_PIPELINED requests waiting is closed: nginx and Envoy likewise stop
// reading a connection whose responses are not being consumed.
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { keepResponseShape } from '../v8-shapes.js';
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
  headersTimeoutMs: number;
  maxConnections: number;
  /** HTTPS with these options; absent: plain HTTP. */
  tls?: TlsOptions;
}

/** Requests allowed to wait behind the one being answered on a connection. */
export const MAX_PIPELINED = 16;
/** Idle keep-alive connections are closed after this long (nginx's keepalive_timeout is 75 s; ours is short). */
const KEEP_ALIVE_MS = 5000;

interface Connection {
  busy: boolean;
  waiting: Array<[IncomingMessage, ServerResponse]>;
}
// Kept beside the socket, not on it: a property added to Node's own sockets
// would give them a second shape, and Node's http and net code a slower path.
const connections = new WeakMap<Socket, Connection>();

/** A fixed answer written straight to a socket the HTTP parser has given up on or never owned. */
function refuse(socket: Duplex, status: string): void {
  if (!socket.writable) return void socket.destroy();
  socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
}

export async function startHttpServer(pipeline: Pipeline, opts: ListenOptions): Promise<RunningServer> {
  function serve(conn: Connection, socket: Socket, req: IncomingMessage, res: ServerResponse): void {
    conn.busy = true;
    // The socket is captured now: Node detaches it from the request once the answer is sent.
    const pending = pipeline.handle(req, res);
    if (pending === undefined) next(conn, socket);
    else void pending.then(() => next(conn, socket));
  }

  function next(conn: Connection, socket: Socket): void {
    if (socket.destroyed) {
      conn.waiting.length = 0;
      return;
    }
    // Build the next answer only once the socket has taken this one.
    if (socket.writableNeedDrain) {
      socket.once('drain', () => next(conn, socket));
      return;
    }
    conn.busy = false;
    const item = conn.waiting.shift();
    if (item !== undefined) serve(conn, socket, item[0], item[1]);
  }

  const httpOptions: ServerOptions = {
    // Header and request-receipt bounds: slow or huge headers cannot pin a socket.
    maxHeaderSize: 16 * 1024,
    headersTimeout: opts.headersTimeoutMs,
    requestTimeout: opts.requestTimeoutMs + opts.headersTimeoutMs,
    // Node checks those timeouts every 30 s by default: a slow-header client could stay ~half a minute past them.
    connectionsCheckingInterval: 250,
    keepAliveTimeout: KEEP_ALIVE_MS,
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // So that an idle stretch cannot make every later response a slow dictionary object (v8-shapes.ts).
    keepResponseShape(res);
    const socket = req.socket;
    let conn = connections.get(socket);
    if (conn === undefined) connections.set(socket, (conn = { busy: false, waiting: [] }));
    if (!conn.busy) return serve(conn, socket, req, res);
    if (conn.waiting.length >= MAX_PIPELINED) return void socket.destroy();
    conn.waiting.push([req, res]);
  };
  const tlsServer = opts.tls === undefined ? null : createHttpsServer({ ...httpOptions, ...opts.tls }, onRequest);
  // https.Server is an http.Server over TLS sockets: the rest of this file treats both alike.
  const server: Server = tlsServer ?? createServer(httpOptions, onRequest);
  server.maxConnections = opts.maxConnections;
  // Expect: 100-continue is answered by the pipeline once the key and the size are accepted.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(417, { 'Content-Length': '0', Connection: 'close' });
    res.end();
  });
  // CONNECT is not something a control plane proxies: say so instead of dropping the socket.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => refuse(socket, '405 Method Not Allowed\r\nAllow: DELETE, GET, HEAD, POST'));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'HPE_HEADER_OVERFLOW') return refuse(socket, '431 Request Header Fields Too Large');
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return refuse(socket, '408 Request Timeout');
    if (err.code === 'HPE_INVALID_VERSION') return refuse(socket, '505 HTTP Version Not Supported');
    refuse(socket, '400 Bad Request');
  });

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
