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
export function readBodyText(req: IncomingMessage, maxBytes: number, beforeReading?: () => void, untypedIsJson = false): Promise<string> {
  return readBody(req, maxBytes, beforeReading, untypedIsJson, decodeUtf8);
}

/**
 * The body's bytes, checked and bounded as `readBodyText` says, turned into
 * what the caller wants by `finish` (which may throw: the promise rejects) in
 * the same step: on every write that spares a promise per conversion.
 */
function readBody<T>(req: IncomingMessage, maxBytes: number, beforeReading: (() => void) | undefined, untypedIsJson: boolean, finish: (bytes: Buffer | null) => T): Promise<T> {
  // A plain function, not async: on every write it saves a promise and a suspended frame per level.
  if (!hasBody(req)) {
    try {
      return Promise.resolve(finish(null));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  try {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxBytes) throw new HttpError('body.too_large', `The request body must be at most ${maxBytes} bytes.`);
    const type = req.headers['content-type'];
    if (type === undefined ? !untypedIsJson : !JSON_TYPE.test(type)) {
      throw new HttpError('body.unsupported_media_type', 'The request body must be JSON (Content-Type: application/json).');
    }
    beforeReading?.();
  } catch (err) {
    return Promise.reject(err);
  }
  return readAll(req, maxBytes, finish);
}

function decodeUtf8(bytes: Buffer | null): string {
  if (bytes === null) return '';
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HttpError('body.malformed_json', 'The request body is not valid UTF-8.');
  }
}

/**
 * Every byte of the body, stopping at `maxBytes` (the rest is not kept: with
 * no listener left, Node discards what still arrives, and the pipeline closes
 * a connection whose body was not read to the end). Listens for 'data' rather
 * than iterating: an async iterator costs a promise per chunk and a few
 * objects per request, on every write. A body cut short (the client left, or
 * a 408 ended the read) rejects with ERR_STREAM_PREMATURE_CLOSE.
 */
function readAll<T>(req: IncomingMessage, maxBytes: number, finish: (bytes: Buffer) => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (req.destroyed) return reject(prematureClose());
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > maxBytes) {
        settle();
        reject(new HttpError('body.too_large', `The request body must be at most ${maxBytes} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      settle();
      try {
        resolve(finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)));
      } catch (err) {
        reject(err);
      }
    };
    const onError = (err: Error): void => {
      settle();
      reject(err);
    };
    const onClose = (): void => {
      settle();
      reject(prematureClose());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/** The parsed JSON body (undefined when there is none); see `readBodyText` for the bounds. */
export function readJsonBody(req: IncomingMessage, maxBytes: number, beforeReading?: () => void, untypedIsJson = false): Promise<unknown> {
  return readBody(req, maxBytes, beforeReading, untypedIsJson, parseJsonBytes);
}

function parseJsonBytes(bytes: Buffer | null): unknown {
  return parseJson(decodeUtf8(bytes));
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError('body.malformed_json', 'The request body is not valid JSON.');
  }
}
