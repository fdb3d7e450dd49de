// Request ids. The server makes its own for every request (a per-process
// random prefix and a counter: unique, cheap, never chosen by a client), and
// that id ties the audit line and server log lines together. A client's
// X-Request-Id, when it is safe to echo (1-128 of [A-Za-z0-9._:-]), is echoed
// in the response and recorded beside ours as `client_request_id`, so a
// client cannot make its audit lines pass for another request's.
import { randomBytes } from 'node:crypto';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PREFIX = randomBytes(6).toString('hex');
let counter = 0;

export function nextRequestId(): string {
  counter = counter === Number.MAX_SAFE_INTEGER ? 1 : counter + 1;
  return `${PREFIX}-${counter}`;
}

/** The client's X-Request-Id when it is safe to echo, else undefined. */
export function clientRequestId(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && SAFE_ID.test(header) ? header : undefined;
}
