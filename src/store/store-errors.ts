// The two ways a store refuses to work, as classes so callers can tell them
// apart with `instanceof` (main.ts prints StoreOpenError and exits; the HTTP
// layer maps StoreUnavailableError to a 503).
//
// Safety: messages name files, byte offsets, pids and errno codes only. They
// never include record contents, which may hold task text or other user data.

/** The data directory cannot be opened: corrupt files, a held lock, bad permissions. */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The store is closed, or a journal write/fsync failed and it now fails closed:
 * nothing more is accepted until the process restarts and recovers from disk.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  /** `unreachable`: a shared backend (Redis) cannot be reached right now; it recovers by itself. */
  readonly reason: 'closed' | 'failed' | 'unreachable';

  constructor(reason: 'closed' | 'failed' | 'unreachable', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** The errno code of a Node fs error, for messages that must not leak anything else. */
export function errnoCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  // V8's string limit (about 512 MiB) is what a too-large batch or snapshot hits.
  if (err instanceof RangeError) return 'too large to write in one piece';
  return 'unknown error';
}
