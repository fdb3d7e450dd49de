// A flood of denials from one address is cut to DENIALS_PER_WINDOW lines and
// one summary per window; nothing is dropped without being counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../../src/audit/audit-logger.js';
import { createDenialThrottle, DENIALS_PER_WINDOW } from '../../src/audit/denial-throttle.js';

function event(remoteAddr: string, status: number, i: number): AuditEvent {
  return { requestId: `r${i}`, principal: 'anonymous', scopes: [], method: 'GET', path: '/v1/status', status, durationMs: 1, remoteAddr };
}

test('past the per-window allowance denials are counted, then summarised once; others pass', () => {
  let now = 1_000_000;
  const lines: AuditEvent[] = [];
  const throttle = createDenialThrottle({ log: (e) => lines.push(e) }, { now: () => now }, (e, n) => lines.push({ ...e, suppressed: n }));
  for (let i = 0; i < DENIALS_PER_WINDOW + 25; i++) throttle.log(event('10.0.0.1', 401, i));
  for (let i = 0; i < 3; i++) throttle.log(event('10.0.0.2', 401, i));
  for (let i = 0; i < 30; i++) throttle.log(event('10.0.0.1', 201, i));
  assert.equal(lines.filter((l) => l.remoteAddr === '10.0.0.1' && l.status === 401).length, DENIALS_PER_WINDOW);
  assert.equal(lines.filter((l) => l.remoteAddr === '10.0.0.2').length, 3);
  assert.equal(lines.filter((l) => l.status === 201).length, 30, 'successes are never throttled');
  now += 11_000;
  throttle.log(event('10.0.0.1', 429, 99));
  const summary = lines.find((l) => l.suppressed !== undefined);
  assert.ok(summary, 'a summary line was written when the window ended');
  assert.equal(summary.suppressed, 25);
  assert.equal(summary.remoteAddr, '10.0.0.1');
  assert.equal(lines.at(-1)!.requestId, 'r99', 'a new window logs again');
  throttle.close();
});

test('close() writes the pending summaries', () => {
  const lines: AuditEvent[] = [];
  const throttle = createDenialThrottle({ log: (e) => lines.push(e) }, { now: () => 0 }, (e, n) => lines.push({ ...e, suppressed: n }));
  for (let i = 0; i < DENIALS_PER_WINDOW + 1; i++) throttle.log(event('::1', 403, i));
  throttle.close();
  assert.equal(lines.at(-1)!.suppressed, 1);
});
