// Starts real redis-server instances for tests: each on a free loopback port,
// in its own temporary directory, with AOF on and appendfsync always (the
// configuration the Redis store documents). Tests call `redisSkipReason()`
// first and skip, visibly, only when redis-server is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRedis {
  port: number;
  url: string;
  dir: string;
  /** Stop (SIGTERM, or SIGKILL with `crash`) and wait for the process to exit. */
  stop(crash?: boolean): Promise<void>;
  /** Start again on the same port and directory (AOF replays). */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that hangs without closing its connections. */
  pause(): void;
  resume(): void;
  /** Stop for good and remove the directory. */
  cleanup(): Promise<void>;
}

export interface TestRedisOptions {
  /** Extra `--name value` arguments, e.g. ['--requirepass', 'secret']. */
  args?: string[];
  appendonly?: boolean;
  /** Serve TLS only (`--port 0 --tls-port P`) with this certificate; the URL becomes rediss://. */
  tls?: { certPath: string; keyPath: string; caPath: string };
}

let cachedReason: string | false | undefined;

/** False when redis-server can run here, else why these tests are skipped. */
export function redisSkipReason(): string | false {
  if (cachedReason === undefined) {
    const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
    cachedReason = probe.error !== undefined || probe.status !== 0 ? 'redis-server is not installed (apt-get install -y redis-server; .ci/run does this)' : false;
  }
  return cachedReason;
}

/**
 * False when redis-server can serve TLS with these files, else why not (a
 * build without TLS support). It starts redis-server with TLS set up but no
 * port: a TLS-capable build loads the files and exits with "Configured to not
 * listen anywhere".
 */
export function redisTlsSkipReason(tls: { certPath: string; keyPath: string; caPath: string }): string | false {
  const plain = redisSkipReason();
  if (plain !== false) return plain;
  const probe = spawnSync('redis-server', ['--port', '0', '--tls-port', '0', '--tls-replication', 'yes', '--tls-cert-file', tls.certPath, '--tls-key-file', tls.keyPath,
    '--tls-ca-cert-file', tls.caPath, '--save', '', '--daemonize', 'no', '--logfile', ''], { encoding: 'utf8', timeout: 10_000 });
  if (/not listen anywhere/.test(probe.stdout ?? '')) return false;
  const last = (probe.stdout ?? '').trim().split('\n').at(-1) ?? '';
  return `redis-server cannot serve TLS here (built without TLS support?): ${last.replace(/^\d+:\w \S+ \S+ \S+ \S+ . /, '')}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startTestRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const tls = options.tls;
  // Clients need no certificate of their own (--tls-auth-clients no): Townhall authenticates with a password.
  const listen = tls === undefined ? ['--port', String(port)]
    : ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certPath, '--tls-key-file', tls.keyPath, '--tls-ca-cert-file', tls.caPath, '--tls-auth-clients', 'no'];
  const args = [
    ...listen, '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', options.appendonly === false ? 'no' : 'yes', '--appendfsync', 'always',
    '--daemonize', 'no', '--logfile', join(dir, 'redis.log'), ...(options.args ?? []),
  ];

  async function start(): Promise<void> {
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    child = proc;
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(port))) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (Date.now() > deadline) throw new Error('redis-server did not start within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function stop(crash = false): Promise<void> {
    const proc = child;
    child = null;
    if (proc === null || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(crash ? 'SIGKILL' : 'SIGTERM');
    await exited;
  }

  await start();
  return {
    port,
    url: `${tls === undefined ? 'redis' : 'rediss'}://127.0.0.1:${port}`,
    dir,
    stop,
    start,
    pause: () => void (child as ChildProcess | null)?.kill('SIGSTOP'),
    resume: () => void (child as ChildProcess | null)?.kill('SIGCONT'),
    async cleanup() {
      (child as ChildProcess | null)?.kill('SIGCONT');
      await stop(true);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
