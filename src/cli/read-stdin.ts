// Reading a token from stdin for `auth-tool hash` / `auth-tool verify`.
//
// Tokens come on stdin rather than argv because argv is visible to other
// users in `ps` and lands in shell history.
//
// Security: the read is bounded (a token is a few KiB at most; we stop long
// before a runaway pipe exhausts memory), invalid UTF-8 is refused instead of
// being silently replaced by U+FFFD (which would hash a different secret), and
// error messages never contain what was read.

/** Thrown when stdin is too large or not UTF-8; the message is ours, never the input. */
export class StdinInputError extends Error {
  override name = 'StdinInputError';
}

/** Read all of `stream` as UTF-8, failing once more than `maxBytes` arrive. */
export async function readStdin(stream: AsyncIterable<Buffer | string>, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    total += buf.length;
    if (total > maxBytes) throw new StdinInputError(`stdin is larger than ${maxBytes} bytes`);
    chunks.push(buf);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new StdinInputError('stdin is not valid UTF-8');
  }
}

/**
 * Remove exactly one trailing line ending (`\r\n` or `\n`), the one `echo` or
 * a heredoc adds. Anything else, including further newlines, is the token.
 */
export function stripOneTrailingNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}
