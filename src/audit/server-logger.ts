// Operational messages (start-up, warnings, internal errors) on stderr, in the
// same text/json format as the audit log, kept apart from the audit stream on
// stdout so the audit log stays machine-parseable.
//
// Security: callers pass messages we wrote; an unexpected error is logged with
// its stack (which contains no request secrets: we never put them in errors).
import { isoTime, type Clock } from '../clock.js';
import type { LogFormat } from '../config/config.js';

export interface ServerLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string, cause?: unknown): void;
  debug(msg: string): void;
  /** True with --verbose; lets callers skip building debug messages. */
  readonly debugEnabled: boolean;
}

export function createServerLogger(format: LogFormat, verbose: boolean, write: (line: string) => void, clock: Clock): ServerLogger {
  function emit(level: string, msg: string, cause?: unknown): void {
    const time = isoTime(clock.now());
    const err = cause instanceof Error ? (cause.stack ?? cause.message) : cause === undefined ? undefined : String(cause);
    if (format === 'json') {
      write(JSON.stringify({ time, level, msg, ...(err === undefined ? {} : { error: err }) }) + '\n');
    } else {
      write(`${time} ${level} townhall: ${msg}${err === undefined ? '' : ` error=${JSON.stringify(err)}`}\n`);
    }
  }
  return {
    info: (msg) => emit('INFO', msg),
    warn: (msg) => emit('WARN', msg),
    error: (msg, cause) => emit('ERROR', msg, cause),
    debug: (msg) => {
      if (verbose) emit('DEBUG', msg);
    },
    debugEnabled: verbose,
  };
}
