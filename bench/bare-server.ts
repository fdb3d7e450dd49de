// The baseline: a bare node:http server that answers the same bytes as
// Townhall, with none of its routing, auth, audit or store. It is written the
// plain idiomatic way (one JSON.stringify per answer, a random UUID request
// id, a header object), not tuned, so "ratio to bare" means "what Townhall
// costs over the least a node:http server must do to give this answer".
//
//   GET /health        the /health JSON from BARE_HEALTH_JSON, uptime live
//   GET anything else  the /v1/status JSON from BARE_STATUS_JSON, uptime live
//   POST anything      reads and parses the JSON body, answers 201 with a
//                      task shaped like Townhall's POST /v1/backlog answer
//
// The templates are what Townhall really answered at the start of the run.
// Request ids take Townhall's form too (BARE_REQUEST_IDS): `uuid` (a random
// UUID each) or `counter` (a random per-process prefix and a counter).
// Headers as Townhall's: X-Request-Id, Cache-Control, X-Content-Type-Options,
// Content-Type, Content-Length (node adds Date, Connection, Keep-Alive alike).
// Prints `port N` on stdout once listening.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { keepResponseShape, pinTickObjectShapes } from '../src/v8-shapes.js';

// Townhall's two guards against an idle stretch slowing it down for good
// (src/v8-shapes.ts): without them this baseline could fall into the slower
// state Townhall is guarded against, and flatter it.
pinTickObjectShapes();

const started = Date.now();
const status = JSON.parse(process.env['BARE_STATUS_JSON'] ?? '{}') as Record<string, unknown>;
const health = JSON.parse(process.env['BARE_HEALTH_JSON'] ?? '{"status":"ok"}') as Record<string, unknown>;
const prefix = randomBytes(6).toString('hex');
let counter = 0;
const requestId = process.env['BARE_REQUEST_IDS'] === 'counter' ? (): string => `${prefix}-${++counter}` : randomUUID;
const uptimeSecs = (): number => Math.floor((Date.now() - started) / 1000);

function send(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, {
    'X-Request-Id': requestId(),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

const server = createServer((req, res) => {
  keepResponseShape(res);
  if (req.method !== 'POST') {
    if (req.url === '/health') send(res, 200, JSON.stringify({ ...health, uptime_secs: uptimeSecs() }));
    else send(res, 200, JSON.stringify({ ...status, uptime_secs: uptimeSecs() }));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let input: { description?: unknown; tags?: unknown };
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof input;
    } catch {
      send(res, 400, '{"title":"bad json"}');
      return;
    }
    const id = randomUUID();
    const now = new Date().toISOString();
    send(
      res,
      201,
      JSON.stringify({
        id,
        description: input.description,
        tags: input.tags ?? [],
        state: 'pending',
        assigned_to: null,
        result: null,
        created_at: now,
        updated_at: now,
        started_at: null,
        completed_at: null,
        task_id: id,
      }),
    );
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`port ${typeof addr === 'object' && addr !== null ? addr.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
