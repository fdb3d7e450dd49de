// Every route has a scope decision, and every declared route appears in the
// OpenAPI document the server publishes, with its security and errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SCOPES } from '../../src/auth/scopes.js';
import { systemClock } from '../../src/clock.js';
import { createMetrics } from '../../src/http/metrics.js';
import { HTTP_BINDINGS } from '../../src/http/http-bindings.js';
import { buildRouteTable } from '../../src/http/route-table.js';
import { coreRoutes } from '../../src/http/core-routes.js';
import { townOperations } from '../../src/operations/town-operations.js';
import { createRouter } from '../../src/http/router.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createTown } from '../../src/town/town.js';
import { startTestServer, TINYTOWN_HASH, type TestServer } from '../helpers/server.js';

const PUBLIC = ['GET /health', 'GET /healthz', 'GET /ready', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'GET /api/scaling'];

const town = createTown({ store: createMemoryStore(), clock: systemClock, config: { name: 't', defaultCli: 'claude', maxAgents: 5, heartbeatTimeoutSecs: 120 } });
const routes = buildRouteTable(
  { clock: systemClock, startedAt: 0, version: '0.0.0', authMode: 'api_key', metrics: createMetrics(systemClock, 0), town, isReady: () => true },
  townOperations(town, { version: '0.0.0', authMode: 'api_key', uptimeSecs: () => 0 }),
  HTTP_BINDINGS,
);

describe('route table', () => {
  test('every route has an access decision: a known scope or public', () => {
    for (const r of routes) {
      assert.ok(r.access === 'public' || (SCOPES as readonly string[]).includes(r.access), `${r.method} ${r.path} has access ${String(r.access)}`);
    }
  });

  test('exactly the documented routes are public', () => {
    const pub = routes.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.path}`).sort();
    assert.deepEqual(pub, [...PUBLIC].sort());
  });

  test('a binding to an unknown operation, or an operation without a binding, stops start-up', () => {
    const ops = townOperations(town, { version: '0', authMode: 'none', uptimeSecs: () => 0 });
    const core = { clock: systemClock, startedAt: 0, version: '0', authMode: 'none' as const, metrics: createMetrics(systemClock, 0), town, isReady: () => true };
    assert.throws(() => buildRouteTable(core, ops, [...HTTP_BINDINGS, { operation: 'no.such', method: 'GET', path: '/x' }]), /unknown operation no.such/);
    assert.throws(() => buildRouteTable(core, ops, HTTP_BINDINGS.filter((b) => b.operation !== 'agent.kill')), /without an HTTP binding: agent.kill/);
  });

  test('the table builds a router (no duplicates or conflicts)', () => {
    assert.doesNotThrow(() => createRouter(routes));
    assert.throws(() => createRouter([...routes, routes[0]!]), /registered twice/);
  });
});

describe('/openapi.json', () => {
  let s: TestServer;
  let open: TestServer;
  before(async () => {
    s = await startTestServer({ toml: `[townhall.auth]\nmode = "api_key"\napi_key_hash = "${TINYTOWN_HASH}"\n` });
    open = await startTestServer();
  });
  after(async () => {
    await s.close();
    await open.close();
  });

  test('in mode none the document declares no security at all', async () => {
    const doc = (await open.request('GET', '/openapi.json')).json;
    assert.equal(doc.components.securitySchemes, undefined);
    for (const methods of Object.values(doc.paths) as Array<Record<string, { security?: unknown }>>) {
      for (const op of Object.values(methods)) assert.ok(op.security === undefined || (Array.isArray(op.security) && op.security.length === 0));
    }
  });

  test('is served as the same bytes every time, with servers, tags and a license', async () => {
    const a = await open.request('GET', '/openapi.json');
    const b = await open.request('GET', '/openapi.json');
    assert.equal(a.text, b.text);
    assert.ok(a.json.servers.length > 0 && a.json.tags.length > 0 && a.json.info.license.name === 'MIT');
  });

  test('is built once: later requests do not read the route table again', async () => {
    let reads = 0;
    const core = coreRoutes({
      clock: systemClock, startedAt: 0, version: '0', authMode: 'none', metrics: createMetrics(systemClock, 0), town, isReady: () => true,
      allRoutes: () => {
        reads++;
        return routes;
      },
    });
    const openapi = core.find((r) => r.path === '/openapi.json')!;
    const first = await openapi.handler();
    for (let i = 0; i < 3; i++) assert.equal((await openapi.handler()).body, first.body);
    assert.equal(reads, 1);
  });

  test('is OpenAPI 3.1 and lists every declared route with its scope and errors', async () => {
    const r = await s.request('GET', '/openapi.json');
    assert.equal(r.status, 200);
    const doc = r.json;
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKeyHeader', 'basicAuth', 'bearerAuth']);
    for (const scope of SCOPES) assert.ok(doc['x-scopes'][scope], `scope ${scope} documented`);
    for (const route of routes) {
      if (route.kind === 'handoff') continue; // MCP's routes speak JSON-RPC and are not in the document
      const op = doc.paths[route.path]?.[route.method.toLowerCase()];
      // Alias paths (Buttercup's trailing-slash forms) are served but not listed.
      if (route.kind === 'operation' && route.binding.unlisted === true) {
        assert.equal(op, undefined, `${route.method} ${route.path} is unlisted`);
        continue;
      }
      assert.ok(op, `${route.method} ${route.path} missing from OpenAPI`);
      assert.equal(op['x-required-scope'], route.access);
      if (route.access === 'public') {
        assert.deepEqual(op.security, []);
      } else {
        assert.deepEqual(op.security[0], { bearerAuth: [route.access] });
        assert.ok(op.responses['401'] && op.responses['403'], `${route.method} ${route.path} lists 401 and 403`);
      }
      if (route.kind === 'raw') {
        for (const status of Object.keys(route.success)) assert.ok(op.responses[status], `${route.method} ${route.path} ${status}`);
        continue;
      }
      assert.ok(op.responses[String(route.status)].content['application/json'].schema, `${route.method} ${route.path} documents its output`);
      assert.equal(op['x-operation'], route.op.name);
      if (route.bodyFields.size > 0) {
        assert.equal(op.requestBody.content['application/json'].schema.type, 'object');
        assert.ok(op.responses['422'], `${route.method} ${route.path} lists 422`);
      }
    }
  });
});
