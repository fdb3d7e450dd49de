// How an exchange can end before its answer: the client went away, or a 408
// was already sent. Node drains a body still on the wire before the next
// request, so a connection whose body was not read is closed instead.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasBody } from './body.js';

/** The exchange ended before the operation could run (a 408 was sent, or the client left). */
export class ExchangeEnded extends Error {}

/**
 * A body still on the wire. A request without a body has nothing to drain, even
 * if its parser has not marked it complete yet (a synchronous refusal runs before that).
 */
export function unreadBody(req: IncomingMessage): boolean {
  return hasBody(req) && !req.complete;
}

/** A failure that means the client went away, not that we did something wrong. */
export function clientLeft(err: unknown): boolean {
  if (err instanceof ExchangeEnded) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error | null)?.message === 'aborted';
}

/** Answers `Expect: 100-continue` once, when the body is about to be read (after auth and the size check). */
export function continueOnce(req: IncomingMessage, res: ServerResponse): (() => void) | undefined {
  const expect = req.headers['expect'];
  return typeof expect === 'string' && expect.toLowerCase() === '100-continue' ? () => res.writeContinue() : undefined;
}
