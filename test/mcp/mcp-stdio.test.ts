// `townhall mcp-stdio` through the official SDK's StdioClientTransport:
// relaying to a running server with TOWNHALL_API_KEY (auth, scopes and audit
// happen on the server), and serving a town's store in-process as the local
// owner; and the refusal when a server holds that store.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { parseAuditLine, type TestServer } from '../helpers/server.js';
import { ADMIN_KEY, ALL_TOOLS, callEveryTool, TOWN_TOOLS, getBothPrompts, mcpAudit, READER_KEY, readEveryResource, startKeyedServer, textJson } from './mcp-fixture.js';

// dist/test/mcp/ -> the repository root.
const BIN = fileURLToPath(new URL('../../../bin/townhall.js', import.meta.url));

interface StdioClient {
  client: Client;
  stderr: string[];
}

async function connectStdio(args: string[], env: Record<string, string> = {}): Promise<StdioClient> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp-stdio', ...args], env, stderr: 'pipe' });
  const stderr: string[] = [];
  transport.stderr?.on('data', (c: Buffer) => stderr.push(...c.toString('utf8').split('\n').filter((l) => l !== '')));
  const client = new Client({ name: 'townhall-stdio-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr };
}

describe('mcp-stdio --url relays to a running server', () => {
  let s: TestServer;
  before(async () => {
    s = await startKeyedServer();
  });
  after(() => s.close());

  test('every tool, resource and prompt, with the admin key; audited on the server', async () => {
    const { client } = await connectStdio(['--url', `http://127.0.0.1:${s.port}`], { TOWNHALL_API_KEY: ADMIN_KEY });
    try {
      assert.equal(client.getServerVersion()?.name, 'townhall');
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), [...ALL_TOOLS].sort());
      assert.deepEqual(await callEveryTool(client), [...ALL_TOOLS].sort());
      await readEveryResource(client);
      await getBothPrompts(client);
    } finally {
      await client.close();
    }
    const spawn = mcpAudit(s.audit, 'agent.spawn')[0];
    assert.ok(spawn);
    assert.equal(spawn['principal'], 'ops');
    assert.equal(spawn['result'], 'success');
  });

  test('a reader key sees read tools only and a write is denied with the scope named', async () => {
    const { client } = await connectStdio(['--url', `http://127.0.0.1:${s.port}`], { TOWNHALL_API_KEY: READER_KEY });
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.every((t) => t.annotations?.readOnlyHint === true));
      const r = await client.callTool({ name: 'backlog.add', arguments: { description: 'x' } });
      assert.equal(r.isError, true);
      assert.equal(textJson(r).error.required_scope, 'town.write');
    } finally {
      await client.close();
    }
    assert.ok(mcpAudit(s.audit, 'backlog.add').some((f) => f['principal'] === 'reader' && f['result'] === 'denied'));
  });

  test('a wrong key fails initialize with the server refusal', async () => {
    await assert.rejects(connectStdio(['--url', `http://127.0.0.1:${s.port}`], { TOWNHALL_API_KEY: 'not-a-key' }), /HTTP 401/);
  });
});

describe('mcp-stdio without --url serves the store as the local owner', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'townhall-mcp-'));
    await writeFile(join(dir, 'tinytown.toml'), '[townhall.store]\ndurability = "none"\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('every tool, resource and prompt; audit lines on stderr with principal local', async () => {
    const { client, stderr } = await connectStdio(['--town', dir]);
    try {
      assert.deepEqual(await callEveryTool(client), [...TOWN_TOOLS].sort());
      await readEveryResource(client);
      await getBothPrompts(client);
    } finally {
      await client.close();
    }
    const spawn = stderr.filter((l) => l.includes(' audit: ')).map(parseAuditLine).find((f) => f['operation'] === 'agent.spawn');
    assert.ok(spawn, stderr.join('\n'));
    assert.equal(spawn['principal'], 'local');
    assert.equal(spawn['transport'], 'mcp');
    assert.equal(spawn['scopes'], 'admin');
  });

  test('SIGTERM stops it cleanly and releases the store lock', async () => {
    const child = spawn(process.execPath, [BIN, 'mcp-stdio', '--town', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    const answered = new Promise<string>((resolve) => child.stdout.once('data', (c: Buffer) => resolve(c.toString('utf8'))));
    child.stdin.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    assert.match(await answered, /"id":1,"result":\{\}/);
    assert.ok(existsSync(join(dir, '.townhall', 'townhall.lock')), 'the store is held while serving');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(!existsSync(join(dir, '.townhall', 'townhall.lock')), 'the lock is released');
  });

  test('exits 1 saying to use --url when a server holds the store', async () => {
    const s = await startKeyedServer();
    try {
      const r = spawnSync(process.execPath, [BIN, 'mcp-stdio', '--town', s.dir], { input: '', encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /a running server holds the town's store .*use --url/);
      assert.equal(r.stdout, '', 'nothing but protocol messages on stdout');
    } finally {
      await s.close();
    }
  });
});
