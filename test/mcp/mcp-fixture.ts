// Shared by the MCP tests: a server with a reader key and an admin key, and
// SDK clients connected to it over Streamable HTTP.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { apiKeysToml, BUTTERCUP_HASH, BUTTERCUP_TOKEN, parseAuditLine, startTestServer, TINYTOWN_HASH, TINYTOWN_KEY, type TestServer } from '../helpers/server.js';

export const READER_KEY = TINYTOWN_KEY;
export const ADMIN_KEY = BUTTERCUP_TOKEN;

export const KEYS_TOML = apiKeysToml([
  { id: 'reader', hash: TINYTOWN_HASH, scopes: ['town.read'] },
  { id: 'ops', hash: BUTTERCUP_HASH, scopes: [] },
]);

export function startKeyedServer(): Promise<TestServer> {
  return startTestServer({ toml: KEYS_TOML });
}

export async function connectHttp(port: number, key: string): Promise<Client> {
  const client = new Client({ name: 'townhall-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  return client;
}

/** The audit lines (parsed) for one MCP operation. */
export function mcpAudit(audit: readonly string[], operation: string): Array<Record<string, string>> {
  return audit.filter((l) => l.includes(`operation="${operation}"`)).map(parseAuditLine).filter((f) => f['transport'] === 'mcp');
}

export { ALL_TOOLS, callEveryTool, TOWN_TOOLS, getBothPrompts, readEveryResource, textJson } from './mcp-exercise.js';
