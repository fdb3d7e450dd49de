// What is checked before any route is looked up: the HTTP version, one Host
// header, and a target that is an absolute path (absolute-form targets, which
// RFC 9112 says a server must accept, are reduced to their path).
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-errors.js';

export const MAX_URL_LENGTH = 8192;

/** The path-and-query of the request target. */
export function requestTarget(req: IncomingMessage): string {
  const url = req.url ?? '/';
  if (url.startsWith('/') || !/^https?:\/\//i.test(url)) return url;
  const start = url.indexOf('/', url.indexOf('//') + 2);
  return start === -1 ? '/' : url.slice(start);
}

/** Throws the problem for a request line or Host header this server does not take. */
export function checkRequestLine(req: IncomingMessage, target: string): void {
  if (req.httpVersionMajor !== 1) throw new HttpError('request.version', 'Only HTTP/1.0 and HTTP/1.1 are served here.');
  // Two Host headers can make a proxy and this server disagree on the target (RFC 9112 section 3.2).
  if (hostCount(req.rawHeaders) > 1) throw new HttpError('request.malformed', 'A request must carry exactly one Host header.');
  if (!target.startsWith('/') || target.length > MAX_URL_LENGTH) {
    throw new HttpError('request.bad_path', 'The request target must be an absolute path of at most 8192 bytes.');
  }
}

/** How many Host fields the request carries (a scan of the raw list: `headersDistinct` builds an object of every header). */
function hostCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Most clients write `Host`: compared as is, no lowercased copy is made.
    if (name.length === 4 && (name === 'Host' || name.toLowerCase() === 'host')) n++;
  }
  return n;
}
