// One HTTP exchange as the pipeline carries it (pipeline.ts): the request's
// facts (ids, path, client address, peer), what the steps learn (route,
// principal, body, how it ended), and the one object the steps hand around,
// as the operation's InvokeOptions, the authenticator's AuthInput and the
// timeout sweeper's Deadline. Methods rather than per-request closures: this
// is made for every request, and the hot path must cost about what bare
// node:http does.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Principal } from '../auth/principal.js';
import type { AuthInput } from '../auth/verifier.js';
import type { InvokeOptions } from '../operations/invoke.js';
import { verifiedPeer, type VerifiedPeer } from '../tls/peer-certificate.js';
import { clientAddress, type ProxyTrust } from './client-address.js';
import { unreadBody } from './exchange-end.js';
import { HttpError, toHttpError } from './http-errors.js';
import { RequestCancellation } from './request-cancellation.js';
import type { Deadline } from './request-deadlines.js';
import { clientRequestId, nextRequestId } from './request-id.js';
import { requestTarget } from './request-line.js';
import { sendJson, sendProblem, type ProblemContext, type ResponseHeaders } from './respond.js';
import type { RouteDef } from './route.js';

export type Ending = 'timeout' | 'aborted' | undefined;

/** What an exchange reads of the server around it. */
export interface ExchangeEnv {
  /** Whose X-Forwarded-For to believe. */
  readonly proxies: ProxyTrust;
  readonly requestTimeoutMs: number;
  /** Offer `Basic realm` on 401 (a reload may change it). */
  readonly basicPossible: boolean;
  /** Answers then carry `Connection: close`. */
  readonly shuttingDown: boolean;
}

/**
 * One exchange: its state, and the one object the steps hand around, as the
 * operation's InvokeOptions, the authenticator's AuthInput and the timeout
 * sweeper's Deadline (methods, not per-request closures: this is made for
 * every request). Response headers beyond the fixed three are an object
 * made only when something adds one (an error, Connection: close...).
 */
export class Exchange implements InvokeOptions, AuthInput, Deadline {
  readonly transport = 'http' as const;
  readonly started = performance.now();
  readonly requestId = nextRequestId();
  /** The client's own X-Request-Id when safe: shown to it, and audited beside ours. */
  readonly clientId: string | undefined;
  readonly shownId: string;
  readonly method: string;
  readonly isHead: boolean;
  readonly url: string;
  /** Index of '?' in `url`, or -1. */
  readonly q: number;
  readonly path: string;
  readonly remoteAddr: string;
  readonly peer: VerifiedPeer | null;
  readonly auditExtras: { auth: string; clientCert?: string; clientRequestId?: string };
  idempotencyKey: string | undefined = undefined;
  principal: Principal | null = null;
  reason: string | undefined = undefined;
  invoked = false;
  /** The body once read (Buttercup-style error answers quote it). */
  body: unknown = undefined;
  params: Record<string, string> | undefined = undefined;
  route: RouteDef | null = null;
  /** How the exchange ended early, if it did: the answer a 408 gave, or the client gone. */
  ended: Ending = undefined;
  /** Whether a 408 applies (not to long-polls and handoffs). */
  timed = true;
  // Deadline: when the 408 is due, and the sweeper's links while it waits.
  at = 0;
  prevDeadline: Deadline | null = null;
  nextDeadline: Deadline | null = null;
  cancellation: RequestCancellation | null = null;
  private extra: ResponseHeaders | null = null;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly env: ExchangeEnv,
  ) {
    this.clientId = clientRequestId(req.headers['x-request-id']);
    this.shownId = this.clientId ?? this.requestId;
    this.method = req.method ?? 'GET';
    this.isHead = this.method === 'HEAD';
    this.url = requestTarget(req);
    this.q = this.url.indexOf('?');
    this.path = this.q === -1 ? this.url : this.url.slice(0, this.q);
    this.remoteAddr = clientAddress(req, env.proxies);
    this.peer = verifiedPeer(req.socket);
    this.auditExtras = { auth: 'none' };
    if (this.peer !== null) this.auditExtras.clientCert = this.peer.subject;
    if (this.clientId !== undefined) this.auditExtras.clientRequestId = this.clientId;
  }

  // AuthInput
  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }
  get clientAddress(): string {
    return this.remoteAddr;
  }
  get connection(): Socket {
    return this.req.socket;
  }

  /** The response headers so far, as an object one may add to. */
  get responseHeaders(): ResponseHeaders {
    return (this.extra ??= { 'X-Request-Id': this.shownId, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  }

  get problemContext(): ProblemContext {
    return { requestId: this.shownId, basicPossible: this.env.basicPossible, isHead: this.isHead, headers: this.responseHeaders };
  }

  /** Which input fields came from the query string decides query.invalid versus body.invalid. */
  get querySourced(): ReadonlyMap<string, unknown> | undefined {
    return this.route?.kind === 'operation' ? this.route.queryFields : undefined;
  }

  send(status: number, body: unknown, contentType?: string): void {
    if (this.env.shuttingDown) this.responseHeaders['Connection'] = 'close';
    sendJson(this.res, status, body, this.isHead, this.extra ?? this.shownId, contentType);
  }

  // InvokeOptions
  signal(): AbortSignal {
    return this.cancellable().signal;
  }
  ending(): Ending {
    return this.ended;
  }
  statusOf(error: unknown, output?: unknown): number {
    if (this.ended === 'aborted') return 499;
    if (this.res.headersSent) return this.res.statusCode;
    if (error !== undefined) return toHttpError(error, this.querySourced).status;
    const route = this.route;
    if (route?.kind !== 'operation') return 200;
    return output === null && route.binding.emptyStatus !== undefined ? route.binding.emptyStatus : route.status;
  }

  /** The request's cancellation, made on first need (long-polls, MCP, a 408). */
  cancellable(): RequestCancellation {
    if (this.cancellation === null) {
      this.cancellation = new RequestCancellation(this.res);
      if (this.ended !== undefined) this.cancellation.cancel();
    }
    return this.cancellation;
  }

  // Deadline: the 408.
  onExpire(): void {
    this.ended ??= 'timeout';
    const { req, res } = this;
    const bodyPending = unreadBody(req);
    if (bodyPending) this.responseHeaders['Connection'] = 'close';
    sendProblem(res, new HttpError('request.timeout', `The request did not complete within ${this.env.requestTimeoutMs} ms.`), this.problemContext);
    this.cancellation?.cancel();
    // Node stops feeding a request whose answer is sent: end the body read ourselves, once the 408 is out.
    if (bodyPending) res.once('finish', () => req.destroy());
  }
}
