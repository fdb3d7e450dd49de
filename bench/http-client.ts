// A sequential HTTP client for the measurements wrk cannot make: one request
// at a time on one keep-alive connection, timing each answer (scale latencies,
// the compaction-pause probe) or reading it whole (checking that the bare
// baseline answers the same bytes as Townhall).
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names in the order sent. */
  headerNames: string[];
  body: string;
  ms: number;
}

export interface Client {
  send(method: string, path: string, headers?: Record<string, string>, body?: string): Promise<Answer>;
  close(): void;
}

export function createClient(port: number): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    send(method, path, headers = {}, body) {
      return new Promise((resolve, reject) => {
        const started = performance.now();
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = v;
        if (body !== undefined) {
          h['content-type'] ??= 'application/json';
          h['content-length'] = String(Buffer.byteLength(body));
        }
        const req = request({ host: '127.0.0.1', port, method, path, headers: h, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              headerNames: res.rawHeaders.filter((_, i) => i % 2 === 0),
              body: Buffer.concat(chunks).toString('utf8'),
              ms: performance.now() - started,
            }),
          );
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** What must match between Townhall and the bare baseline for the comparison to be fair. */
export function answerShape(a: Answer): string {
  const h = a.headers;
  return JSON.stringify({
    status: a.status,
    headerNames: a.headerNames.map((n) => n.toLowerCase()),
    // A counter id grows a digit now and then: compare its form, not its exact length.
    requestId: String(h['x-request-id'] ?? '').replace(/[0-9a-f]/g, 'x').replace(/-x+$/, '-n'),
    cacheControl: h['cache-control'],
    nosniff: h['x-content-type-options'],
    contentType: h['content-type'],
    contentLength: h['content-length'],
  });
}
