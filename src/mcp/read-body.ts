// Reads an MCP POST body with the REST body reader (the same bounds: a declared
// Content-Length over the limit refused before reading, a streamed one cut as
// soon as it passes it, JSON-typed, UTF-8) and turns its refusals into what the
// MCP endpoint answers with; the caller maps them to JSON-RPC errors.
import type { IncomingMessage } from 'node:http';
import { readBodyText } from '../http/body.js';
import { HttpError } from '../http/http-errors.js';

export type BodyResult = { ok: true; text: string } | { ok: false; status: 400 | 413 | 415; message: string };

export async function readMcpBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  try {
    return { ok: true, text: await readBodyText(req, maxBytes) };
  } catch (err) {
    if (err instanceof HttpError && (err.status === 400 || err.status === 413 || err.status === 415)) {
      return { ok: false, status: err.status, message: err.detail };
    }
    throw err;
  }
}
