// The audit log: one line per event on stdout, in the text format the product
// has always documented, or as JSON objects.
//
// Security: events are built from an allow-list of fields (never from header
// objects), the path never includes the query string, and every quoted value
// is JSON-escaped, so a path with quotes or newlines cannot forge a line.
import { isoTime, type Clock } from '../clock.js';
import type { LogFormat } from '../config/config.js';

export interface AuditEvent {
  requestId: string;
  principal: string;
  scopes: readonly string[];
  method: string;
  /** The request path without its query string. */
  path: string;
  status: number;
  durationMs: number;
  remoteAddr: string;
  /** Why authentication or authorization failed (never a secret). */
  reason?: string;
  /** The operation's dotted name (`agent.spawn`), when the request named one. */
  operation?: string;
  /** How the request arrived. */
  transport?: 'http' | 'mcp' | 'local';
  /** The client's own X-Request-Id, when it sent a safe one (`requestId` is always the server's). */
  clientRequestId?: string;
  /** On a summary line: how many more denials like this one were left out of the log. */
  suppressed?: number;
  /** Overrides the result derived from the status (an MCP tool error travels in a 200). */
  result?: AuditResult;
  /** How the request authenticated (or tried to): api_key, oidc, mtls, none. */
  auth?: string;
  /** Subject CN of the client certificate the TLS handshake verified, if any. */
  clientCert?: string;
}

export type AuditResult = 'success' | 'denied' | 'error' | 'timeout' | 'aborted';

export interface AuditLogger {
  log(event: AuditEvent): void;
}

export function auditResult(status: number): AuditResult {
  if (status === 401 || status === 403 || status === 429) return 'denied';
  if (status === 408) return 'timeout';
  if (status === 499) return 'aborted';
  return status >= 400 ? 'error' : 'success';
}

const MESSAGES: Record<AuditResult, string> = {
  success: 'operation completed',
  denied: 'operation denied',
  error: 'operation failed',
  timeout: 'operation timed out',
  aborted: 'operation aborted',
};

function q(value: string): string {
  return JSON.stringify(value);
}

// Most fields of a line take few distinct values (the method, the route's
// path, the principal, the result, the operation, the address): they are
// quoted once and remembered, which spares a few strings on every audited
// write. Bounded: a flood of distinct paths only empties the table.
const QUOTED_MAX = 1024;
const quotedValues = new Map<string, string>();
function qRepeated(value: string): string {
  let out = quotedValues.get(value);
  if (out === undefined) {
    out = JSON.stringify(value);
    if (quotedValues.size >= QUOTED_MAX) quotedValues.clear();
    quotedValues.set(value, out);
  }
  return out;
}

// A principal's scopes are one frozen array for as long as its key or token is cached
// (an array that could still change is quoted afresh).
const quotedScopes = new WeakMap<readonly string[], string>();
function qScopes(scopes: readonly string[]): string {
  if (!Object.isFrozen(scopes)) return JSON.stringify(scopes.join(','));
  let out = quotedScopes.get(scopes);
  if (out === undefined) quotedScopes.set(scopes, (out = JSON.stringify(scopes.join(','))));
  return out;
}

export function formatAuditLine(event: AuditEvent, format: LogFormat, time: string): string {
  const result = event.result ?? auditResult(event.status);
  const level = result === 'success' ? 'INFO' : 'WARN';
  const msg = event.suppressed === undefined ? MESSAGES[result] : 'denials suppressed';
  const durationMs = Math.round(event.durationMs * 10) / 10;
  if (format === 'json') {
    return JSON.stringify({
      time,
      level,
      msg,
      request_id: event.requestId,
      principal: event.principal,
      scopes: event.scopes.join(','),
      method: event.method,
      path: event.path,
      status: event.status,
      result,
      duration_ms: durationMs,
      remote_addr: event.remoteAddr,
      ...(event.clientRequestId === undefined ? {} : { client_request_id: event.clientRequestId }),
      ...(event.operation === undefined ? {} : { operation: event.operation }),
      ...(event.transport === undefined ? {} : { transport: event.transport }),
      ...(event.auth === undefined ? {} : { auth: event.auth }),
      ...(event.clientCert === undefined ? {} : { client_cert: event.clientCert }),
      ...(event.reason === undefined ? {} : { reason: event.reason }),
      ...(event.suppressed === undefined ? {} : { suppressed: event.suppressed }),
    });
  }
  return (
    `${time} ${level} audit: ${msg} request_id=${q(event.requestId)} principal=${qRepeated(event.principal)} ` +
    `scopes=${qScopes(event.scopes)} method=${qRepeated(event.method)} path=${qRepeated(event.path)} status=${event.status} ` +
    `result=${qRepeated(result)} duration_ms=${durationMs} remote_addr=${qRepeated(event.remoteAddr)}` +
    (event.clientRequestId === undefined ? '' : ` client_request_id=${q(event.clientRequestId)}`) +
    (event.operation === undefined ? '' : ` operation=${qRepeated(event.operation)}`) +
    (event.transport === undefined ? '' : ` transport=${qRepeated(event.transport)}`) +
    (event.auth === undefined ? '' : ` auth=${qRepeated(event.auth)}`) +
    (event.clientCert === undefined ? '' : ` client_cert=${qRepeated(event.clientCert)}`) +
    (event.reason === undefined ? '' : ` reason=${qRepeated(event.reason)}`) +
    (event.suppressed === undefined ? '' : ` suppressed=${event.suppressed}`)
  );
}

export function createAuditLogger(format: LogFormat, write: (line: string) => void, clock: Clock): AuditLogger {
  // Lines of one busy millisecond share their timestamp text (a Date and its ISO string per line otherwise).
  let lastMs = Number.NaN;
  let lastTime = '';
  return {
    log(event) {
      const ms = clock.now();
      if (ms !== lastMs) {
        lastMs = ms;
        lastTime = isoTime(ms);
      }
      write(formatAuditLine(event, format, lastTime) + '\n');
    },
  };
}
