// The request id: the client's X-Request-Id when it is safe to echo (1-128
// characters of [A-Za-z0-9._:-]), else a fresh one. It ties the response,
// the audit line and any server log line together.
import { randomUUID } from 'node:crypto';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SAFE_ID.test(header) ? header : randomUUID();
}
