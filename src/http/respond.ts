// Writes responses: JSON bodies and RFC 7807 problem bodies. This is the one
// place an HttpError becomes HTTP; handlers never pick statuses ad hoc.
//
// Security: a problem's `detail` is always a string we wrote. Unknown errors
// become a fixed 500 body; their cause is logged by the caller, never sent.
import type { ServerResponse } from 'node:http';
import { HTTP_ERRORS, HttpError, problemType } from './http-errors.js';

/** Response headers, collected in one object and handed to writeHead once. */
export type ResponseHeaders = Record<string, string | number | string[]>;

export interface ProblemContext {
  requestId: string;
  /** The request's headers so far (request id, caching); the problem's own are added. */
  headers: ResponseHeaders;
  /** Offer `Basic realm` on 401 (some key has an id). */
  basicPossible: boolean;
  isHead: boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';

// A frozen body cannot change, so it is serialized once, with its
// Content-Length (the status and /health answers are the same frozen object
// for a second at a time). Freeze a body only when its nested parts never
// change either.
interface Payload {
  readonly text: string;
  readonly length: string;
}
const serialized = new WeakMap<object, Payload>();

function payloadOf(body: unknown): Payload {
  if (typeof body === 'object' && body !== null && Object.isFrozen(body)) {
    let payload = serialized.get(body);
    if (payload === undefined) serialized.set(body, (payload = measured(JSON.stringify(body))));
    return payload;
  }
  return measured(typeof body === 'string' ? body : JSON.stringify(body));
}

function measured(text: string): Payload {
  return { text, length: String(Buffer.byteLength(text, 'utf8')) };
}

// Headers go to writeHead at once and never through setHeader: Node then skips
// its per-header bookkeeping, which cost about 8 µs of a small request.
// `headers` is either the object of every response header so far, or, on the
// common path where nothing was added, just the request id: the fixed headers
// then go to writeHead as one flat array, with no object built.
export function sendJson(res: ServerResponse, status: number, body: unknown, isHead: boolean, headers: ResponseHeaders | string, contentType = JSON_TYPE): void {
  if (res.headersSent) return;
  if (status === 204 || body === undefined) {
    res.writeHead(status, typeof headers === 'string' ? ['X-Request-Id', headers, 'Cache-Control', 'no-store', 'X-Content-Type-Options', 'nosniff'] : headers);
    res.end();
    return;
  }
  // A string body lets Node send headers and body in one write.
  const { text, length } = payloadOf(body);
  if (typeof headers === 'string') {
    res.writeHead(status, ['X-Request-Id', headers, 'Cache-Control', 'no-store', 'X-Content-Type-Options', 'nosniff', 'Content-Type', contentType, 'Content-Length', length]);
  } else {
    headers['Content-Type'] = contentType;
    headers['Content-Length'] = length;
    res.writeHead(status, headers);
  }
  res.end(isHead ? undefined : text, 'utf8');
}

export function sendProblem(res: ServerResponse, error: HttpError, ctx: ProblemContext): void {
  const { code, extras } = error;
  const { headers } = ctx;
  if (error.status === 401) {
    const bearer = extras.bearer_error === undefined ? 'Bearer realm="townhall"' : `Bearer realm="townhall", error="${extras.bearer_error}"`;
    headers['WWW-Authenticate'] = ctx.basicPossible ? [bearer, 'Basic realm="townhall"'] : bearer;
  }
  if (code === 'scope.denied' && extras.required_scope !== undefined) {
    headers['WWW-Authenticate'] = `Bearer realm="townhall", error="insufficient_scope", scope="${extras.required_scope}"`;
  }
  if (extras.retry_after_secs !== undefined) headers['Retry-After'] = String(extras.retry_after_secs);
  if (extras.allow !== undefined) headers['Allow'] = extras.allow.join(', ');
  const body = {
    type: problemType(code),
    title: HTTP_ERRORS[code].title,
    status: error.status,
    detail: error.detail,
    request_id: ctx.requestId,
    ...(extras.errors === undefined ? {} : { errors: extras.errors }),
    ...(extras.required_scope === undefined ? {} : { required_scope: extras.required_scope }),
    ...(extras.current_state === undefined ? {} : { current_state: extras.current_state }),
    ...(extras.retry_after_secs === undefined ? {} : { retry_after_secs: extras.retry_after_secs }),
  };
  sendJson(res, error.status, body, ctx.isHead, headers, 'application/problem+json; charset=utf-8');
}
