// The baseline: a bare node:http server answering the same kind of JSON as
// GET /v1/status, with no routing, auth or audit. Prints its port on stdout.
import { createServer } from 'node:http';

const started = Date.now();
const server = createServer((_req, res) => {
  const body = JSON.stringify({ name: 'bench', version: '0.0.0', uptime_secs: Math.floor((Date.now() - started) / 1000), auth_mode: 'none' });
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`port ${typeof addr === 'object' && addr !== null ? addr.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
