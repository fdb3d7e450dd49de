// Keeps a flood of refused requests from one client from flooding the audit
// log: each client address may log DENIALS_PER_WINDOW denials per window;
// past that its denials are counted, and one summary line per window says how
// many were left out (`suppressed=N`). Nothing is dropped silently, and the
// log grows with the number of attackers, not with their request rate. (As
// nginx's limit_req logs one line per rejected burst, not per request.)
import type { Clock } from '../clock.js';
import type { AuditEvent, AuditLogger } from './audit-logger.js';

export const DENIALS_PER_WINDOW = 100;
const WINDOW_MS = 10_000;
/** Addresses tracked at once; past it the oldest window is summarised early. */
const MAX_ADDRESSES = 10_000;

interface Window {
  started: number;
  logged: number;
  suppressed: number;
  /** The last suppressed event, as the template of the summary line. */
  last: AuditEvent | null;
}

export interface ThrottledAudit extends AuditLogger {
  /** Writes the summaries of every window with suppressed denials (on a timer, and at shutdown). */
  flush(): void;
  close(): void;
}

function isDenial(event: AuditEvent): boolean {
  return event.result === 'denied' || (event.result === undefined && (event.status === 401 || event.status === 403 || event.status === 429));
}

export function createDenialThrottle(inner: AuditLogger, clock: Clock, summarize: (event: AuditEvent, suppressed: number, windowSecs: number) => void): ThrottledAudit {
  const windows = new Map<string, Window>();

  function close(addr: string, w: Window): void {
    windows.delete(addr);
    if (w.suppressed > 0 && w.last !== null) summarize(w.last, w.suppressed, Math.max(1, Math.round((clock.now() - w.started) / 1000)));
  }

  function flush(expiredOnly = false): void {
    const now = clock.now();
    for (const [addr, w] of windows) if (!expiredOnly || now - w.started >= WINDOW_MS) close(addr, w);
  }

  const timer = setInterval(() => flush(true), WINDOW_MS / 2);
  timer.unref();

  return {
    log(event) {
      if (!isDenial(event)) return inner.log(event);
      const now = clock.now();
      let w = windows.get(event.remoteAddr);
      if (w !== undefined && now - w.started >= WINDOW_MS) {
        close(event.remoteAddr, w);
        w = undefined;
      }
      if (w === undefined) {
        if (windows.size >= MAX_ADDRESSES) {
          const [oldest, ow] = windows.entries().next().value as [string, Window];
          close(oldest, ow);
        }
        w = { started: now, logged: 0, suppressed: 0, last: null };
        windows.set(event.remoteAddr, w);
      }
      if (w.logged < DENIALS_PER_WINDOW) {
        w.logged++;
        inner.log(event);
      } else {
        w.suppressed++;
        w.last = event;
      }
    },
    flush: () => flush(false),
    close() {
      clearInterval(timer);
      flush(false);
    },
  };
}
