// Request counts by route pattern, method and status stay right when alike
// requests come in runs (the last row counted is reused) and when they mix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '../../src/http/metrics.js';

const clock = { now: () => 0 };

function counts(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^townhall_http_requests_total\{(.*)\} (\d+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

test('runs of alike requests and mixed ones are all counted in their own row', () => {
  const metrics = createMetrics(clock, 0);
  const calls: Array<[string, string, number]> = [
    ['/health', 'GET', 200], ['/health', 'GET', 200], ['/health', 'GET', 503], ['/health', 'GET', 200],
    ['/health', 'HEAD', 200], ['/v1/status', 'GET', 200], ['/health', 'GET', 200], ['/health', 'BREW', 405], ['/health', 'PURR', 405],
  ];
  for (const [route, method, status] of calls) metrics.recordRequest(route, method, status);
  assert.deepEqual(counts(metrics.render()), {
    'route="/health",method="GET",status="200"': 4,
    'route="/health",method="GET",status="503"': 1,
    'route="/health",method="HEAD",status="200"': 1,
    'route="/v1/status",method="GET",status="200"': 1,
    'route="/health",method="OTHER",status="405"': 2,
  });
});
