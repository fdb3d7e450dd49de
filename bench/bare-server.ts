// The baseline: a bare node:http server answering the same JSON as
// GET /v1/status (same fields, same size), with no routing, auth, audit or
// store. Prints its port on stdout.
import { createServer } from 'node:http';

const started = Date.now();
const zero = (keys: string[]): Record<string, number> => Object.fromEntries(keys.map((k) => [k, 0]));
const server = createServer((_req, res) => {
  const body = JSON.stringify({
    name: 'bench',
    root: process.cwd(),
    redis_url: null,
    agent_count: 0,
    agents: [],
    version: '0.1.0',
    uptime_secs: Math.floor((Date.now() - started) / 1000),
    auth_mode: 'api_key',
    agents_by_state: zero(['starting', 'idle', 'working', 'paused', 'draining', 'stopped', 'error', 'cold']),
    tasks_by_state: zero(['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled']),
    backlog: 0,
  });
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`port ${typeof addr === 'object' && addr !== null ? addr.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
