// Assertions shared by the HTTP tests: the problem-body contract, field
// pointers of a 422, and reading one Prometheus series.
import assert from 'node:assert/strict';
import type { TestResponse } from './server.js';

/** A problem response with the right status, media type, stable type URI and request id. */
export function assertProblem(r: TestResponse, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  assert.equal(r.json.status, status);
  assert.equal(r.json.type, `https://townhall.dev/problems/${code.replace(/[._]/g, '-')}`);
  assert.equal(typeof r.json.title, 'string');
  assert.equal(typeof r.json.detail, 'string');
  assert.equal(r.json.request_id, r.headers['x-request-id']);
}

/** The sorted, distinct JSON pointers of a 422's field errors (a field may break two rules). */
export function pointers(r: TestResponse): string[] {
  return [...new Set((r.json.errors as Array<{ pointer: string }>).map((e) => e.pointer))].sort();
}

/** The value of one unlabelled (or fully labelled) series in Prometheus text. */
export function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}
