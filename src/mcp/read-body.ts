// Reads an MCP POST body, bounded: a declared Content-Length over the limit is
// refused before reading a byte, a streamed one as soon as it passes the
// limit. Returns the text or why it was refused (the caller answers).
import type { IncomingMessage } from 'node:http';

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export type BodyResult = { ok: true; text: string } | { ok: false; status: 400 | 413 | 415; message: string };

export async function readBodyText(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const type = req.headers['content-type'];
  if (type === undefined || !JSON_TYPE.test(type)) return { ok: false, status: 415, message: 'The body must be JSON (Content-Type: application/json).' };
  const tooLarge = { ok: false, status: 413, message: `The body must be at most ${maxBytes} bytes.` } as const;
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return tooLarge;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) return tooLarge;
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, text: utf8.decode(Buffer.concat(chunks, total)) };
  } catch {
    return { ok: false, status: 400, message: 'The body is not valid UTF-8.' };
  }
}

/** A body still on the wire: the connection must close after a refusal rather than drain it. */
export function bodyUnread(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  const has = length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
  return has && !req.complete;
}
