// formatAuditLine and createAuditLogger: the documented text line exactly,
// levels and results by status, escaping that keeps one event on one line,
// and the JSON format with the same fields.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditResult, createAuditLogger, formatAuditLine, type AuditEvent } from '../../src/audit/audit-logger.js';

const DOC_LINE =
  '2026-11-23T10:00:00.000Z INFO audit: operation completed request_id="abc123" principal="api_key" scopes="town.read,town.write" ' +
  'method="POST" path="/v1/agents" status=201 result="success" duration_ms=1.9 remote_addr="127.0.0.1"';
const TIME = '2026-11-23T10:00:00.000Z';

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    requestId: 'abc123',
    principal: 'api_key',
    scopes: ['town.read', 'town.write'],
    method: 'POST',
    path: '/v1/agents',
    status: 201,
    durationMs: 1.9,
    remoteAddr: '127.0.0.1',
    ...overrides,
  };
}

/** Parses a text line back into its fields (quoted values JSON-unescaped). */
function parseText(line: string): Record<string, string> {
  const m = /^(\S+) (INFO|WARN) audit: (operation \w+) (.*)$/.exec(line);
  assert.ok(m, `not an audit line: ${line}`);
  const fields: Record<string, string> = { time: m[1]!, level: m[2]!, msg: m[3]! };
  const rest = m[4]!;
  const re = /(\w+)=("(?:[^"\\]|\\.)*"|[^\s"]+)(?: |$)/gy;
  let consumed = 0;
  for (let f = re.exec(rest); f !== null; f = re.exec(rest)) {
    fields[f[1]!] = f[2]!.startsWith('"') ? (JSON.parse(f[2]!) as string) : f[2]!;
    consumed = re.lastIndex;
  }
  assert.equal(consumed, rest.length, `unparsed tail: ${rest.slice(consumed)}`);
  return fields;
}

describe('text format', () => {
  test('matches the documented example line exactly', () => {
    assert.equal(formatAuditLine(event(), 'text', TIME), DOC_LINE);
  });

  test('createAuditLogger writes the line with the clock time and a newline', () => {
    const lines: string[] = [];
    const logger = createAuditLogger('text', (l) => lines.push(l), { now: () => Date.parse(TIME) });
    logger.log(event());
    assert.deepEqual(lines, [DOC_LINE + '\n']);
  });

  for (const status of [401, 403, 429]) {
    test(`${status} is WARN "operation denied" result="denied"`, () => {
      const line = formatAuditLine(event({ status, principal: 'anonymous', scopes: [] }), 'text', TIME);
      assert.ok(line.startsWith(`${TIME} WARN audit: operation denied request_id="abc123" principal="anonymous" scopes="" `), line);
      assert.ok(line.includes(` status=${status} result="denied" `), line);
    });
  }

  test('408 is WARN "operation timed out" result="timeout"; 499 (client gone) is "operation aborted"', () => {
    assert.ok(formatAuditLine(event({ status: 408 }), 'text', TIME).includes(' status=408 result="timeout" '));
    assert.ok(formatAuditLine(event({ status: 408 }), 'text', TIME).startsWith(`${TIME} WARN audit: operation timed out `));
    assert.ok(formatAuditLine(event({ status: 499 }), 'text', TIME).includes(' status=499 result="aborted" '));
  });

  for (const status of [400, 404, 405, 413, 500, 503]) {
    test(`${status} is WARN "operation failed" result="error"`, () => {
      const line = formatAuditLine(event({ status }), 'text', TIME);
      assert.ok(line.startsWith(`${TIME} WARN audit: operation failed `), line);
      assert.ok(line.includes(` status=${status} result="error" `), line);
    });
  }

  for (const status of [200, 201, 204]) {
    test(`${status} is INFO "operation completed" result="success"`, () => {
      const f = parseText(formatAuditLine(event({ status }), 'text', TIME));
      assert.equal(f['level'], 'INFO');
      assert.equal(f['msg'], 'operation completed');
      assert.equal(f['result'], 'success');
    });
  }

  test('auditResult classifies statuses', () => {
    assert.deepEqual([200, 401, 403, 429, 404, 500].map(auditResult), ['success', 'denied', 'denied', 'denied', 'error', 'error']);
  });

  test('scopes are always present, empty when none', () => {
    const line = formatAuditLine(event({ scopes: [] }), 'text', TIME);
    assert.ok(line.includes(' principal="api_key" scopes="" method="POST" '), line);
    assert.equal(parseText(line)['scopes'], '');
  });

  test('field order is fixed', () => {
    const f = parseText(formatAuditLine(event(), 'text', TIME));
    assert.deepEqual(Object.keys(f), ['time', 'level', 'msg', 'request_id', 'principal', 'scopes', 'method', 'path', 'status', 'result', 'duration_ms', 'remote_addr']);
  });

  test('duration_ms is rounded to one decimal', () => {
    assert.ok(formatAuditLine(event({ durationMs: 1.94 }), 'text', TIME).includes(' duration_ms=1.9 '));
    assert.ok(formatAuditLine(event({ durationMs: 12.36 }), 'text', TIME).includes(' duration_ms=12.4 '));
    assert.ok(formatAuditLine(event({ durationMs: 0.04 }), 'text', TIME).includes(' duration_ms=0 '));
  });

  test('auth and client_cert, when given, follow remote_addr, before the reason; JSON has the same fields', () => {
    const e = event({ status: 401, auth: 'mtls', clientCert: 'svc "x"', reason: 'cert_unknown_subject' });
    const line = formatAuditLine(e, 'text', TIME);
    assert.ok(line.endsWith(' remote_addr="127.0.0.1" auth="mtls" client_cert="svc \\"x\\"" reason="cert_unknown_subject"'), line);
    assert.equal(parseText(line)['client_cert'], 'svc "x"');
    const json = JSON.parse(formatAuditLine(e, 'json', TIME)) as Record<string, unknown>;
    assert.deepEqual([json['auth'], json['client_cert'], json['reason']], ['mtls', 'svc "x"', 'cert_unknown_subject']);
  });

  test('a reason, when given, is appended quoted', () => {
    const line = formatAuditLine(event({ status: 401, principal: 'anonymous', scopes: [], reason: 'wrong_key' }), 'text', TIME);
    assert.ok(line.endsWith(' remote_addr="127.0.0.1" reason="wrong_key"'), line);
  });

  test('a path with quotes, backslashes, newlines and NUL is escaped and round-trips', () => {
    const path = '/v1/agents/a"b\\c\nd\u0000e\rf\u001bg';
    const line = formatAuditLine(event({ path }), 'text', TIME);
    assert.ok(line.includes(' path="/v1/agents/a\\"b\\\\c\\nd\\u0000e\\rf\\u001bg" '), line);
    assert.ok(!line.includes('\n'), 'no raw newline');
    assert.ok(!line.includes('\r'), 'no raw carriage return');
    assert.ok(!line.includes('\u0000'), 'no raw NUL');
    assert.equal(parseText(line)['path'], path);
  });

  test('a path cannot forge extra fields or a second event', () => {
    const path = '/x" status=200 result="success"\n2026-11-23T10:00:00.000Z INFO audit: operation completed request_id="forged';
    const line = formatAuditLine(event({ status: 403, path }), 'text', TIME);
    const f = parseText(line);
    assert.equal(f['path'], path);
    assert.equal(f['status'], '403');
    assert.equal(f['result'], 'denied');
    assert.equal(f['request_id'], 'abc123');
    assert.equal(line.split('\n').length, 1);
  });

  test('the principal and remote address are escaped too', () => {
    const f = parseText(formatAuditLine(event({ principal: 'a"b', remoteAddr: '::1\n' }), 'text', TIME));
    assert.equal(f['principal'], 'a"b');
    assert.equal(f['remote_addr'], '::1\n');
  });
});

describe('json format', () => {
  test('one object per line with the documented fields; status is a number', () => {
    const line = formatAuditLine(event(), 'json', TIME);
    assert.ok(!line.includes('\n'));
    assert.deepEqual(JSON.parse(line), {
      time: TIME,
      level: 'INFO',
      msg: 'operation completed',
      request_id: 'abc123',
      principal: 'api_key',
      scopes: 'town.read,town.write',
      method: 'POST',
      path: '/v1/agents',
      status: 201,
      result: 'success',
      duration_ms: 1.9,
      remote_addr: '127.0.0.1',
    });
  });

  test('denied and failed events are WARN', () => {
    const denied = JSON.parse(formatAuditLine(event({ status: 429, scopes: [], reason: 'rate_limited' }), 'json', TIME)) as Record<string, unknown>;
    assert.equal(denied['level'], 'WARN');
    assert.equal(denied['msg'], 'operation denied');
    assert.equal(denied['result'], 'denied');
    assert.equal(denied['status'], 429);
    assert.equal(denied['scopes'], '');
    assert.equal(denied['reason'], 'rate_limited');
    const failed = JSON.parse(formatAuditLine(event({ status: 500 }), 'json', TIME)) as Record<string, unknown>;
    assert.equal(failed['level'], 'WARN');
    assert.equal(failed['msg'], 'operation failed');
    assert.equal(failed['result'], 'error');
  });

  test('the path with control characters stays on one line and round-trips', () => {
    const path = '/a"b\\c\nd\u0000e';
    const line = formatAuditLine(event({ path }), 'json', TIME);
    assert.ok(!line.includes('\n'));
    assert.equal((JSON.parse(line) as { path: string }).path, path);
  });

  test('createAuditLogger writes one JSON object and a newline per event', () => {
    const out: string[] = [];
    const logger = createAuditLogger('json', (l) => out.push(l), { now: () => Date.parse(TIME) });
    logger.log(event());
    logger.log(event({ status: 401 }));
    assert.equal(out.length, 2);
    for (const l of out) assert.ok(l.endsWith('}\n') && l.indexOf('\n') === l.length - 1);
    assert.equal((JSON.parse(out[1]!) as { time: string }).time, TIME);
  });

  test('text and json carry the same values', () => {
    for (const e of [event(), event({ status: 403, scopes: [], principal: 'anonymous', path: '/v1/"x"', reason: 'insufficient_scope' })]) {
      const text = parseText(formatAuditLine(e, 'text', TIME));
      const json = JSON.parse(formatAuditLine(e, 'json', TIME)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(json).sort(), Object.keys(text).sort());
      for (const [k, v] of Object.entries(json)) assert.equal(String(v), text[k], k);
    }
  });
});
