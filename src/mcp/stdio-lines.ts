// MCP's stdio framing: one JSON-RPC message per line, UTF-8, no embedded
// newlines. Reads lines from a stream, bounded (a line longer than the limit
// is dropped and reported, never buffered whole), and calls back per line.
import type { Readable } from 'node:stream';

export interface LineHandlers {
  line(text: string): void;
  /** A line over the limit was skipped. */
  tooLong(): void;
}

/** Resolves when the input ends. */
export function readLines(input: Readable, maxBytes: number, on: LineHandlers): Promise<void> {
  return new Promise((resolve, reject) => {
    let parts: Buffer[] = [];
    let size = 0;
    let skipping = false;
    const flush = (): void => {
      if (skipping) on.tooLong();
      else if (size > 0) {
        const text = Buffer.concat(parts, size).toString('utf8').replace(/\r$/, '');
        if (text.trim() !== '') on.line(text);
      }
      parts = [];
      size = 0;
      skipping = false;
    };
    input.on('data', (chunk: Buffer | string) => {
      let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10)) {
        if (!skipping) {
          parts.push(buf.subarray(0, nl));
          size += nl;
          if (size > maxBytes) skipping = true;
        }
        flush();
        buf = buf.subarray(nl + 1);
      }
      if (!skipping && buf.length > 0) {
        size += buf.length;
        if (size > maxBytes) {
          skipping = true;
          parts = [];
        } else parts.push(buf);
      }
    });
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      flush();
      resolve();
    };
    input.once('end', end);
    // A destroyed input (the process is stopping) closes without 'end'.
    input.once('close', end);
    input.once('error', reject);
  });
}
