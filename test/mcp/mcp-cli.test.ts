// The MCP command forms of the CLI: help, bad usage, and `mcp-http`, which
// runs the REST server with MCP at /mcp (Tinytown's -b/-p flags).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { sendRequest } from '../helpers/server.js';

const BIN = fileURLToPath(new URL('../../../bin/townhall.js', import.meta.url));

describe('townhall mcp-stdio / mcp-http', () => {
  test('--help prints the MCP usage; an unknown flag is usage error 2', () => {
    const help = spawnSync(process.execPath, [BIN, 'mcp-stdio', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /townhall mcp-stdio \[--url URL\]/);
    const bad = spawnSync(process.execPath, [BIN, 'mcp-http', '--nope'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Usage:/);
  });

  test('mcp-http -b -p runs the server, and MCP answers at /mcp', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'townhall-mcp-http-'));
    await writeFile(join(dir, 'tinytown.toml'), '[townhall.store]\ndurability = "none"\n');
    const child = spawn(process.execPath, [BIN, 'mcp-http', '-b', '127.0.0.1', '-p', '0', '--town', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stderr = '';
      const port = await new Promise<number>((resolve, reject) => {
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString('utf8');
          const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
      });
      assert.match(stderr, /MCP is served at \/mcp of the REST server/);
      const r = await sendRequest(port, 'POST', '/mcp', {
        headers: { accept: 'application/json, text/event-stream' },
        body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } },
      });
      assert.equal(r.status, 200);
      assert.equal(r.json.result.serverInfo.name, 'townhall');
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
