// End-to-end tests of the server launcher: `node bin/townhall.js ...` spawned
// in a temp directory with no TOWNHALL_* variables from the parent, checking
// exit codes, the first stderr line of start-up refusals, a real start over
// HTTP, graceful SIGTERM with a request in flight, and the data-dir lock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashToken } from '../../src/auth/argon2-hash.js';

// dist/test/cli/townhall-cli.test.js -> the repo root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'townhall.js');
const PKG_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const TINYTOWN_HASH = '$argon2id$v=19$m=19456,t=2,p=1$xiJp23vp95Pk0dHymo8PTg$lKsmTa1NyjSlgxY275HVu1Auh/7LdwjbkYo6ii/Lr8E';
const WAIT_MS = 10_000;

const CLEAN_ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOWNHALL_')));

const dirs: string[] = [];
const children = new Set<ChildProcessWithoutNullStreams>();
function tempDir(toml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'townhall-cli-'));
  dirs.push(dir);
  if (toml !== undefined) writeFileSync(join(dir, 'tinytown.toml'), toml);
  return dir;
}
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Spawned {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function start(args: string[], cwd: string, env: NodeJS.ProcessEnv = CLEAN_ENV): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs to completion (bounded); kills the child if it does not exit. */
async function run(args: string[], cwd: string = tempDir(), env?: NodeJS.ProcessEnv): Promise<RunResult> {
  const s = start(args, cwd, env);
  try {
    const code = await withTimeout(s.exited, WAIT_MS, `townhall ${args.join(' ')} to exit`);
    return { code, stdout: s.stdout(), stderr: s.stderr() };
  } finally {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
  }
}

/** Waits until stderr contains a match for `re` (or the process exits). */
function waitForStderr(s: Spawned, re: RegExp): Promise<RegExpExecArray> {
  return withTimeout(
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(s.stderr());
        if (m) {
          s.child.stderr.off('data', check);
          resolve(m);
        }
      };
      s.child.stderr.on('data', check);
      void s.exited.then((code) => reject(new Error(`exited with ${code} before ${re}; stderr: ${s.stderr()}`)));
      check();
    }),
    WAIT_MS,
    `stderr to match ${re}`,
  );
}

const LISTENING = /INFO townhall: listening on http:\/\/127\.0\.0\.1:(\d+) /;

async function startServer(args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<Spawned & { port: number }> {
  const s = start(args, cwd, env);
  const m = await waitForStderr(s, LISTENING);
  return { ...s, port: Number(m[1]) };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    WAIT_MS,
    `GET ${path}`,
  );
}

describe('usage', () => {
  test('--help prints usage on stdout and exits 0', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: townhall \[options\]/);
    for (const flag of ['--config', '--town', '--bind', '--port', '--verbose', '--help', '--version']) assert.ok(r.stdout.includes(flag), flag);
    assert.equal(r.stderr, '');
  });

  test('--version prints the package version on stdout and exits 0', async () => {
    const r = await run(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `townhall ${PKG_VERSION}\n`);
    assert.equal(r.stderr, '');
  });

  test('an unknown flag exits 2 with the error and usage on stderr', async () => {
    const r = await run(['--nope']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(firstLine(r.stderr), /^townhall: .*--nope/);
    assert.match(r.stderr, /Usage: townhall \[options\]/);
  });

  test('a positional argument exits 2', async () => {
    const r = await run(['serve']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: townhall/);
  });

  test('a flag missing its value exits 2', async () => {
    const r = await run(['--port']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: townhall/);
  });

  test('--config together with --town exits 2', async () => {
    const r = await run(['--config', 'a.toml', '--town', '.']);
    assert.equal(r.code, 2);
    assert.match(firstLine(r.stderr), /either --config or --town/);
  });
});

describe('start-up refusals: exit 1, first stderr line states the problem', () => {
  let weakHash = '';
  before(async () => {
    weakHash = await hashToken('weak-token-for-cli-tests-0123456789', { memoryCost: 4096, timeCost: 1, parallelism: 1 });
  });

  async function refused(args: string[], toml?: string, env?: NodeJS.ProcessEnv): Promise<string> {
    const r = await run(args, tempDir(toml), env);
    assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
    assert.equal(r.stdout, '', 'nothing on stdout');
    const line = firstLine(r.stderr);
    assert.match(line, /^townhall: /);
    return line;
  }

  test('mode none on --bind 0.0.0.0', async () => {
    const line = await refused(['--bind', '0.0.0.0', '--port', '0']);
    assert.match(line, /non-loopback address 0\.0\.0\.0/);
  });

  test('mode none on TOWNHALL_BIND=0.0.0.0', async () => {
    const line = await refused(['--port', '0'], undefined, { ...CLEAN_ENV, TOWNHALL_BIND: '0.0.0.0' });
    assert.match(line, /0\.0\.0\.0/);
  });

  test('invalid TOML, with line and column', async () => {
    const line = await refused(['--port', '0'], 'name = "x"\n[townhall]\nport = 80 80\n');
    assert.match(line, /invalid TOML/);
    assert.match(line, /line 3, column 11/);
  });

  test('an unknown key, with a suggestion', async () => {
    const line = await refused(['--port', '0'], '[townhall]\nprot = 8080\n');
    assert.match(line, /unknown key "prot" in \[townhall\]; did you mean "port"\?/);
  });

  test('a weak hash', async () => {
    const line = await refused(['--port', '0'], `[townhall.auth]\napi_key_hash = "${weakHash}"\n`);
    assert.match(line, /weaker than OWASP/);
    assert.ok(!line.includes(weakHash));
  });

  test('a non-Argon2id hash, without echoing it', async () => {
    const bcrypt = '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW';
    const r = await run(['--port', '0'], tempDir(), { ...CLEAN_ENV, TOWNHALL_API_TOKEN_HASH: bcrypt });
    assert.equal(r.code, 1);
    assert.match(firstLine(r.stderr), /not an Argon2id PHC string/);
    assert.ok(!r.stderr.includes(bcrypt));
  });

  test('two keys with the same id', async () => {
    const line = await refused(
      ['--port', '0'],
      `[[townhall.auth.keys]]\nid = "ci"\nhash = "${TINYTOWN_HASH}"\n[[townhall.auth.keys]]\nid = "ci"\nhash = "${TINYTOWN_HASH}"\n`,
    );
    assert.match(line, /same id "ci"/);
  });

  test('mode oidc without an issuer', async () => {
    const line = await refused(['--port', '0'], '[townhall.auth]\nmode = "oidc"\n');
    assert.match(line, /^townhall: \[townhall\.auth\] issuer: required in mode "oidc"/);
  });

  test('mode api_key with no key', async () => {
    const line = await refused(['--port', '0'], undefined, { ...CLEAN_ENV, TOWNHALL_AUTH_MODE: 'api_key' });
    assert.match(line, /at least one enabled, unexpired key/);
  });

  test('a missing --config file', async () => {
    const line = await refused(['--config', 'missing.toml']);
    assert.match(line, /missing\.toml/);
  });
});

describe('a running server', () => {
  test('--port 0 prints the listening line; GET /health works; SIGTERM exits 0', async () => {
    const cwd = tempDir();
    const s = await startServer(['--port', '0'], cwd);
    try {
      assert.ok(s.port > 0);
      const health = await get(s.port, '/health');
      assert.equal(health.status, 200);
      const body = JSON.parse(health.body) as { status: string; uptime_secs: number };
      assert.equal(body.status, 'ok');
      assert.equal(typeof body.uptime_secs, 'number');
      assert.ok(s.child.kill('SIGTERM'));
      assert.equal(await withTimeout(s.exited, WAIT_MS, 'exit after SIGTERM'), 0);
      assert.match(s.stderr(), /SIGTERM received/);
      // The data directory is released on a clean stop.
      assert.throws(() => readFileSync(join(cwd, '.townhall', 'townhall.lock')), { code: 'ENOENT' });
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  test('SIGINT also exits 0', async () => {
    const s = await startServer(['--port', '0'], tempDir());
    try {
      s.child.kill('SIGINT');
      assert.equal(await withTimeout(s.exited, WAIT_MS, 'exit after SIGINT'), 0);
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  interface InFlightRun {
    received: string;
    exitCode: number | null;
    stdout: string;
  }

  /**
   * Starts a server, begins `POST /v1/agents` with `Expect: 100-continue`
   * (the "100 Continue" proves the request reached the handler), sends half
   * the body, sends SIGTERM, waits for the server to log it (so the stop has
   * begun before the rest of the body is processed), then sends the rest.
   */
  async function postDuringShutdown(): Promise<InFlightRun> {
    const s = await startServer(['--port', '0'], tempDir());
    let socket: Socket | undefined;
    try {
      const body = JSON.stringify({ name: 'graceful-agent' });
      const half = Math.floor(body.length / 2);
      const sock = connect(s.port, '127.0.0.1');
      socket = sock;
      let received = '';
      sock.setEncoding('utf8').on('data', (c: string) => (received += c));
      const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
      const waitFor = (re: RegExp, what: string): Promise<void> =>
        withTimeout(
          new Promise<void>((resolve, reject) => {
            const check = (): void => {
              if (re.test(received)) resolve();
            };
            sock.on('data', check);
            void closed.then(() => (re.test(received) ? resolve() : reject(new Error(`socket closed before ${what}: ${received}`))));
            check();
          }),
          WAIT_MS,
          what,
        );
      sock.write(
        `POST /v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Expect: 100-continue\r\n\r\n`,
      );
      await waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '100 Continue');
      sock.write(body.slice(0, half));
      s.child.kill('SIGTERM');
      await waitForStderr(s, /SIGTERM received/);
      // The listener closes right after that line: new connections end up refused
      // (polled, since the line is written just before the listener is closed).
      await withTimeout(
        (async () => {
          for (;;) {
            const refused = await new Promise<boolean>((resolve, reject) => {
              const probe = connect(s.port, '127.0.0.1');
              probe.on('connect', () => {
                probe.destroy();
                resolve(false);
              });
              // ECONNRESET: the probe was accepted just as the listener closed; poll again.
              probe.on('error', (err: NodeJS.ErrnoException) =>
                err.code === 'ECONNREFUSED' ? resolve(true) : err.code === 'ECONNRESET' ? resolve(false) : reject(err),
              );
            });
            if (refused) return;
            await new Promise((r) => setTimeout(r, 10));
          }
        })(),
        WAIT_MS,
        'new connections to be refused after SIGTERM',
      );
      assert.equal(s.child.exitCode, null, 'still running while the request is in flight');
      sock.write(body.slice(half));
      await waitFor(/HTTP\/1\.1 201 Created\r\n[\s\S]*\r\n\r\n[\s\S]*graceful-agent/, 'the 201 response');
      const exitCode = await withTimeout(s.exited, WAIT_MS, 'exit after the in-flight request');
      return { received, exitCode, stdout: s.stdout() };
    } finally {
      socket?.destroy();
      s.child.kill('SIGKILL');
    }
  }

  test('a request in flight when SIGTERM arrives still gets its response, then exit 0', async () => {
    const r = await postDuringShutdown();
    assert.match(r.received, /HTTP\/1\.1 201 Created\r\n/);
    assert.match(r.received, /"name":"graceful-agent"/);
    // The server tells the client not to reuse the connection it is about to close.
    assert.match(r.received, /\r\nconnection: close\r\n/i);
    assert.equal(r.exitCode, 0);
    // The POST was audited on stdout.
    assert.match(r.stdout, /INFO audit: operation completed .*method="POST" path="\/v1\/agents" status=201/);
  });

  test('a second server on the same data directory refuses to start, naming the lock holder', async () => {
    const town = tempDir('[townhall]\nport = 0\n');
    const first = await startServer(['--town', town], tempDir());
    try {
      const r = await run(['--town', town], tempDir());
      assert.equal(r.code, 1, `stderr: ${r.stderr}`);
      const line = firstLine(r.stderr);
      assert.match(line, /^townhall: /);
      assert.match(line, new RegExp(`another townhall \\(pid ${first.child.pid}\\) is using`));
      assert.ok(line.includes(join(town, '.townhall')), line);
      // The first server is unaffected.
      assert.equal((await get(first.port, '/health')).status, 200);
      first.child.kill('SIGTERM');
      assert.equal(await withTimeout(first.exited, WAIT_MS, 'first server exit'), 0);
    } finally {
      first.child.kill('SIGKILL');
    }
  });

  test('a non-loopback bind with api_key starts and warns about TLS on stderr', async () => {
    const s = start(['--port', '0', '--bind', '0.0.0.0'], tempDir(`[townhall.auth]\napi_key_hash = "${TINYTOWN_HASH}"\n`));
    try {
      await waitForStderr(s, /listening on http:\/\/0\.0\.0\.0:\d+ /);
      assert.match(s.stderr(), /WARN townhall: .*TLS/);
      s.child.kill('SIGTERM');
      assert.equal(await withTimeout(s.exited, WAIT_MS, 'exit'), 0);
    } finally {
      s.child.kill('SIGKILL');
    }
  });
});
