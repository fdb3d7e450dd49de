// Property tests (fast-check): random paths, headers and bodies never make
// the router, the credential parser or the validator throw; a route only
// matches paths of its own shape; a random credential never authenticates;
// and the real server never answers 500, whatever it is sent.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { parseCredential } from '../../src/auth/credentials.js';
import { systemClock } from '../../src/clock.js';
import { HTTP_BINDINGS } from '../../src/http/http-bindings.js';
import { createMetrics } from '../../src/http/metrics.js';
import { buildRouteTable } from '../../src/http/route-table.js';
import { createRouter } from '../../src/http/router.js';
import { MAX_FIELD_ERRORS, validate } from '../../src/operations/schema.js';
import { townOperations } from '../../src/operations/town-operations.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createTown } from '../../src/town/town.js';
import { sendRequest, startTestServer, TINYTOWN_HASH, TINYTOWN_KEY, type TestServer } from '../helpers/server.js';

const town = createTown({ store: createMemoryStore(), clock: systemClock, config: { name: 't', defaultCli: 'c', maxAgents: 5, heartbeatTimeoutSecs: 120 } });
const ops = townOperations(town, { version: '0', authMode: 'none', uptimeSecs: () => 0 });
const routes = buildRouteTable({ clock: systemClock, startedAt: 0, version: '0', authMode: 'none', metrics: createMetrics(systemClock, 0), town, isReady: () => true }, ops, HTTP_BINDINGS);
const router = createRouter(routes);

const segment = fc.oneof(
  fc.constantFrom('v1', 'agents', 'tasks', 'backlog', 'inbox', 'next', 'claim', 'status', '__proto__', 'constructor', '%2F', '%', '%zz', '..', ''),
  fc.string({ maxLength: 12 }),
);
const path = fc.array(segment, { maxLength: 8 }).map((parts) => `/${parts.join('/')}`);
const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'get', 'BREW');

/** Does `path` have the shape of `pattern` (same segment count, same static segments)? */
function fits(pattern: string, p: string): boolean {
  const a = pattern.split('/');
  const b = p.split('/');
  if (a.length !== b.length) return false;
  return a.every((s, i) => (s.startsWith('{') ? b[i] !== '' : decodeURIComponent(b[i]!) === s));
}

describe('property: router', () => {
  test('never throws; a match has its route\'s shape; params are plain own strings', () => {
    fc.assert(
      fc.property(method, path, (m, p) => {
        const r = router.match(m, p);
        if (r.kind === 'found') {
          assert.ok(fits(r.route.path, p), `${m} ${p} matched ${r.route.path}`);
          assert.equal(Object.getPrototypeOf(r.params), null);
          for (const v of Object.values(r.params)) assert.equal(typeof v, 'string');
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('property: credentials', () => {
  const header = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('Bearer', 'Basic', 'bearer x', 'Basic Og==', 'Basic =', 'Bearer  '), fc.string({ maxLength: 40 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`));
  test('parsing any headers never throws and yields one of the known kinds', () => {
    fc.assert(
      fc.property(fc.option(header), fc.option(header), (authorization, apiKey) => {
        const c = parseCredential({ ...(authorization === null ? {} : { authorization }), ...(apiKey === null ? {} : { 'x-api-key': apiKey }) });
        assert.ok(['none', 'malformed', 'bearer', 'x-api-key', 'basic'].includes(c.kind));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('property: validator', () => {
  const json = fc.jsonValue({ maxDepth: 4 });
  test('validating any JSON against every operation input never throws and lists at most 20 problems', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ops), json, (op, value) => {
        const errors = validate(op.input, value);
        assert.ok(errors.length <= MAX_FIELD_ERRORS);
        for (const e of errors) assert.ok(e.pointer.startsWith('/'));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('property: the real server', () => {
  let open: TestServer;
  let keyed: TestServer;
  before(async () => {
    open = await startTestServer();
    keyed = await startTestServer({ toml: `[townhall.auth]\nmode = "api_key"\napi_key_hash = "${TINYTOWN_HASH}"\nmax_failed_attempts_per_minute = 1000000\n` });
  });
  after(async () => {
    await open.close();
    await keyed.close();
  });

  test('never answers 500, whatever method, path and body it gets', async () => {
    const body = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 50 }));
    const safePath = path.map((p) => p.replace(/[^\x21-\x7e]/g, 'x'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH'), safePath, body, async (m, p, b) => {
        const opts = b === undefined ? {} : typeof b === 'string' ? { body: b, headers: { 'content-type': 'application/json' } } : { body: b };
        const r = await sendRequest(open.port, m, p, opts);
        assert.ok(r.status < 500 || r.status === 503, `${m} ${p} ${JSON.stringify(b)} -> ${r.status} ${r.text}`);
      }),
      { numRuns: 300 },
    );
  });

  test('a random credential never authenticates; the real key does', async () => {
    const token = fc.string({ minLength: 1, maxLength: 70 }).filter((t) => t !== TINYTOWN_KEY);
    const headers = fc.oneof(
      token.map((t) => ({ authorization: `Bearer ${t.replace(/[\r\n]/g, '')}` })),
      token.map((t) => ({ 'x-api-key': t.replace(/[\r\n]/g, '') })),
      fc.tuple(token, token).map(([u, t]) => ({ authorization: `Basic ${Buffer.from(`${u}:${t}`).toString('base64')}` })),
    );
    await fc.assert(
      fc.asyncProperty(headers, async (h) => {
        const r = await sendRequest(keyed.port, 'GET', '/v1/status', { headers: h });
        assert.ok([401, 429, 503].includes(r.status), `${JSON.stringify(h)} -> ${r.status}`);
      }),
      { numRuns: 40 },
    );
    assert.equal((await sendRequest(keyed.port, 'GET', '/v1/status', { headers: { authorization: `Bearer ${TINYTOWN_KEY}` } })).status, 200);
  });
});
