// Starts several real Townhall servers ("replicas") serving one town from one
// test redis-server, for the multi-replica HTTP tests and benchmarks.
import { startTestServer, type StartOptions, type TestServer } from './server.js';
import type { TestRedis } from './redis-server.js';

/** tinytown.toml for a replica of `town` on `redis` (auth mode none, loopback). */
export function redisToml(redis: TestRedis, town: string, extra = ''): string {
  return `name = "${town}"\nmax_agents = 1000\n[townhall.store]\nbackend = "redis"\nredis_url = "${redis.url}"\nkey_prefix = "test"\n${extra}`;
}

export async function startReplicas(redis: TestRedis, town: string, count: number, opts: StartOptions = {}): Promise<TestServer[]> {
  const servers: TestServer[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await startTestServer({ toml: redisToml(redis, town), ...opts }));
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    throw err;
  }
  return servers;
}

export function closeAll(servers: readonly TestServer[]): Promise<unknown> {
  return Promise.all(servers.map((s) => s.close()));
}
