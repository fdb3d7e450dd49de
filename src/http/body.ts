// Reads a JSON request body, bounded: it refuses a declared Content-Length over
// the limit before reading a byte, and stops reading as soon as a streamed body
// passes the limit. Called only after authentication and authorization.
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-errors.js';

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * The body as text ('' when there is none), bounded and checked to be UTF-8
 * JSON-typed. `beforeReading` runs once the declared size and type are
 * accepted, just before the first byte is read: the place to answer
 * `Expect: 100-continue`. `untypedIsJson`: a body without Content-Type is read
 * as JSON (FastAPI does; Buttercup's clients rely on it). Shared by REST and MCP.
 */
export async function readBodyText(req: IncomingMessage, maxBytes: number, beforeReading?: () => void, untypedIsJson = false): Promise<string> {
  if (!hasBody(req)) return '';
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw new HttpError('body.too_large', `The request body must be at most ${maxBytes} bytes.`);
  const type = req.headers['content-type'];
  if (type === undefined ? !untypedIsJson : !JSON_TYPE.test(type)) {
    throw new HttpError('body.unsupported_media_type', 'The request body must be JSON (Content-Type: application/json).');
  }
  beforeReading?.();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    total += buf.length;
    if (total > maxBytes) throw new HttpError('body.too_large', `The request body must be at most ${maxBytes} bytes.`);
    chunks.push(buf);
  }
  try {
    return utf8.decode(Buffer.concat(chunks, total));
  } catch {
    throw new HttpError('body.malformed_json', 'The request body is not valid UTF-8.');
  }
}

/** The parsed JSON body (undefined when there is none); see `readBodyText` for the bounds. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number, beforeReading?: () => void, untypedIsJson = false): Promise<unknown> {
  const text = await readBodyText(req, maxBytes, beforeReading, untypedIsJson);
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError('body.malformed_json', 'The request body is not valid JSON.');
  }
}
