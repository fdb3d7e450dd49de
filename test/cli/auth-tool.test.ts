// End-to-end tests of the real launcher: `node bin/auth-tool.js ...` from the
// repo root, with stdin piped in, checking stdout, stderr and the exit code.
import { describe, test } from 'node:test';
import { selectorForKeyId } from '../../src/auth/token-selector.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { verifyToken } from '../../src/auth/argon2-hash.js';
import { VERSION } from '../../src/version.js';

// dist/test/cli/auth-tool.test.js -> the repo root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runProcess(command: string, args: string[], input: string, env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // The tool may exit before reading stdin (usage errors); that EPIPE is expected.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

const run = (args: string[], input = ''): Promise<RunResult> =>
  runProcess(process.execPath, ['bin/auth-tool.js', ...args], input);

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PHC_DEFAULT = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;
const ENV_LINE = /^[A-Z_][A-Z0-9_]*=\S*$/;

const VECTOR_1 = {
  token: 'kQ7vN2xPz9LmR4tYb8WcE3hJ6sDfG1aU',
  hash: '$argon2id$v=19$m=65536,t=3,p=4$Si1olb9wP0mnaab47y+2lQ$Lhb3XPqy3ZXx1R1SYwYAt77wX19K7dr9WTNo8w/I0UE',
};
const VECTOR_2 = {
  token: '3f9a1c2e7b8d4f6a0c5e9b1d3a7f2c4e8b6d0a9f1e3c5b7d9f2a4c6e8b0d1f3a',
  hash: '$argon2id$v=19$m=19456,t=2,p=1$xiJp23vp95Pk0dHymo8PTg$lKsmTa1NyjSlgxY275HVu1Auh/7LdwjbkYo6ii/Lr8E',
};
const VECTOR_2_REORDERED = VECTOR_2.hash.replace('m=19456,t=2,p=1', 't=2,p=1,m=19456');

/** The value after `Label: ` on exactly one stdout line. */
function field(stdout: string, label: string): string {
  const lines = stdout.split('\n').filter((l) => l.startsWith(`${label}: `));
  assert.equal(lines.length, 1, `exactly one "${label}:" line`);
  return lines[0]!.slice(label.length + 2);
}

function envMap(stdout: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    assert.match(line, ENV_LINE);
    const eq = line.indexOf('=');
    assert.ok(!map.has(line.slice(0, eq)), `duplicate name in ${line.slice(0, eq)}`);
    map.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return map;
}

function assertUsageError(r: RunResult, mentions: string): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.ok(r.stderr.includes(mentions), `stderr should mention ${mentions}: ${r.stderr}`);
  assert.ok(r.stderr.includes('Usage: townhall-auth-tool'), 'usage on stderr');
}

describe('auth-tool launcher', { concurrency: 4 }, () => {
  test('--help and -h print usage on stdout and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await run([flag]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^Usage: townhall-auth-tool/);
      assert.ok(r.stdout.includes('--token-length'));
      assert.equal(r.stderr, '');
    }
  });

  test('--version and -V print the package version on stdout and exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await run([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `townhall-auth-tool ${VERSION}\n`);
      assert.equal(r.stderr, '');
    }
  });

  test('an unknown flag exits 2 with the error and usage on stderr', async () => {
    assertUsageError(await run(['--bogus']), "'--bogus'");
    assertUsageError(await run(['--json=yes']), "'--json'");
  });

  test('an unknown subcommand exits 2 with usage on stderr', async () => {
    assertUsageError(await run(['rotate']), "unknown command 'rotate'");
  });

  test('an unknown subcommand that looks like a token is not echoed', async () => {
    const r = await run([VECTOR_1.token]);
    assertUsageError(r, 'unknown command');
    assert.ok(!r.stderr.includes(VECTOR_1.token));
  });

  test('a flag that does not apply to the subcommand exits 2', async () => {
    assertUsageError(await run(['hash', '--json'], 'x\n'), '--json');
    assertUsageError(await run(['verify', VECTOR_2.hash, '--scopes', 'admin'], VECTOR_2.token), '--scopes');
    assertUsageError(await run(['--env', '--json']), '--env and --json');
    assertUsageError(await run(['--env-prefix', 'X_']), '--env-prefix');
  });

  test('default output: key id, token and hash lines, a verifying hash and a TOML snippet', async () => {
    const r = await run([]);
    assert.equal(r.code, 0, r.stderr);
    const id = field(r.stdout, 'Key ID');
    const token = field(r.stdout, 'API Key');
    const hash = field(r.stdout, 'Hash');
    assert.match(id, UUID_V4);
    assert.match(token, /^[A-Za-z0-9]{64}$/);
    assert.match(hash, PHC_DEFAULT);
    assert.equal(await verifyToken(hash, token), true);
    // The three lines come first, in order.
    assert.deepEqual(r.stdout.split('\n').slice(0, 3), [`Key ID: ${id}`, `API Key: ${token}`, `Hash: ${hash}`]);

    const snippet = r.stdout.slice(r.stdout.indexOf('\n\n') + 2);
    const toml = parse(snippet) as { townhall: { auth: { mode: string; keys: Array<Record<string, unknown>> } } };
    assert.equal(toml.townhall.auth.mode, 'api_key');
    // smol-toml builds null-prototype tables; spread them for deepEqual.
    assert.deepEqual(toml.townhall.auth.keys.map((k) => ({ ...k })), [{ id, hash, scopes: ['admin'], token_selector: true }]);
    // The token begins with the key id's selector, so the server tries this key's hash only.
    assert.ok(token.startsWith(selectorForKeyId(id)), 'token carries the selector');
    assert.ok(!snippet.includes(token), 'the token is not in the config snippet');
    assert.equal(r.stdout.split(token).length - 1, 1, 'the token appears on stdout only on the API Key line');
  });

  test('default output: curl examples and advice on stderr, never on stdout', async () => {
    const r = await run([]);
    assert.equal(r.code, 0);
    const id = field(r.stdout, 'Key ID');
    const token = field(r.stdout, 'API Key');
    assert.ok(r.stderr.includes(`curl -H "Authorization: Bearer ${token}" http://127.0.0.1:8787/v1/status`));
    assert.ok(r.stderr.includes(`curl -u "${id}:${token}" http://127.0.0.1:8787/v1/status`));
    assert.match(r.stderr, /secret/);
    assert.ok(!r.stdout.includes('curl'));
  });

  test('--env prints only NAME=value, blank and # lines with the required names', async () => {
    const r = await run(['--env']);
    assert.equal(r.code, 0, r.stderr);
    const env = envMap(r.stdout);
    assert.equal(env.get('TOWNHALL_AUTH_MODE'), 'api_key');
    assert.match(env.get('TOWNHALL_API_KEY_ID') ?? '', UUID_V4);
    assert.equal(env.get('API_KEY_ID'), env.get('TOWNHALL_API_KEY_ID'));
    assert.match(env.get('API_TOKEN') ?? '', /^[A-Za-z0-9]{64}$/);
    assert.match(env.get('TOWNHALL_API_TOKEN_HASH') ?? '', PHC_DEFAULT);
    assert.equal(await verifyToken(env.get('TOWNHALL_API_TOKEN_HASH')!, env.get('API_TOKEN')!), true);
    assert.equal(env.has('TOWNHALL_API_KEY_SCOPES'), false, 'no scopes line without --scopes');
    assert.ok(!r.stderr.includes(env.get('API_TOKEN')!), 'no token on stderr in --env mode');
  });

  test('--env-prefix BUTTERCUP_TASK_SERVER_ prints what a Buttercup deployment and its clients read', async () => {
    const r = await run(['--env', '--env-prefix', 'BUTTERCUP_TASK_SERVER_']);
    assert.equal(r.code, 0, r.stderr);
    const env = envMap(r.stdout);
    // The server's two variables (the key implies api_key and town.read,town.write), and the
    // names Buttercup's clients read: delete_task.sh (CRS_API_KEY_*) and the UI (BUTTERCUP_UI_CRS_KEY_*).
    assert.deepEqual([...env.keys()].sort(), [
      'BUTTERCUP_TASK_SERVER_API_KEY_ID',
      'BUTTERCUP_TASK_SERVER_API_TOKEN_HASH',
      'BUTTERCUP_UI_CRS_KEY_ID',
      'BUTTERCUP_UI_CRS_KEY_TOKEN',
      'CRS_API_KEY_ID',
      'CRS_API_KEY_TOKEN',
    ]);
    assert.match(env.get('BUTTERCUP_TASK_SERVER_API_KEY_ID')!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(env.get('CRS_API_KEY_TOKEN'), env.get('BUTTERCUP_UI_CRS_KEY_TOKEN'));
    assert.equal(await verifyToken(env.get('BUTTERCUP_TASK_SERVER_API_TOKEN_HASH')!, env.get('CRS_API_KEY_TOKEN')!), true);
    // Only assignments carry the prefix, so `grep PREFIX | sed 's/^/export /'` works.
    assert.deepEqual(r.stdout.split('\n').filter((l) => l.includes('BUTTERCUP_TASK_SERVER_')).map((l) => l.split('=')[0]), ['BUTTERCUP_TASK_SERVER_API_KEY_ID', 'BUTTERCUP_TASK_SERVER_API_TOKEN_HASH']);
    const scoped = envMap((await run(['--env', '--env-prefix', 'BUTTERCUP_TASK_SERVER_', '--scopes', 'town.read'])).stdout);
    assert.equal(scoped.get('TOWNHALL_API_KEY_SCOPES'), 'town.read');
    assertUsageError(await run(['--env', '--env-prefix', 'lower_']), '--env-prefix');
  });

  test('--env output survives the documented export pattern in sh, $ and all', async () => {
    const script =
      'out=$("$NODE_BIN" bin/auth-tool.js --env 2>/dev/null) || exit 9\n' +
      '$(printf "%s\\n" "$out" | grep TOWNHALL | sed "s/^/export /")\n' +
      'printf "%s\\n" "$out"\n' +
      'printf "EXPORTED=%s\\n" "$TOWNHALL_API_TOKEN_HASH"\n';
    const r = await runProcess('sh', ['-c', script], '', { ...process.env, NODE_BIN: process.execPath });
    assert.equal(r.code, 0, r.stderr);
    const env = envMap(r.stdout);
    assert.match(env.get('EXPORTED') ?? '', PHC_DEFAULT);
    assert.equal(env.get('EXPORTED'), env.get('TOWNHALL_API_TOKEN_HASH'));
  });

  test('--env output loads as an env file (node --env-file) without mangling the hash', async () => {
    const r = await run(['--env']);
    const dir = mkdtempSync(join(tmpdir(), 'auth-tool-'));
    try {
      const file = join(dir, 'key.env');
      writeFileSync(file, r.stdout);
      const probe = 'process.stdout.write(process.env.TOWNHALL_API_TOKEN_HASH + "\\n" + process.env.API_TOKEN)';
      const loaded = await runProcess(process.execPath, [`--env-file=${file}`, '-e', probe], '');
      const env = envMap(r.stdout);
      assert.equal(loaded.stdout, `${env.get('TOWNHALL_API_TOKEN_HASH')}\n${env.get('API_TOKEN')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--json prints one object with key_id, token, hash and scopes', async () => {
    const r = await run(['--json', '--scopes', 'town.read,admin']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').length, 1);
    const body = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.match(String(body.key_id), UUID_V4);
    assert.match(String(body.token), /^[A-Za-z0-9]{64}$/);
    assert.match(String(body.hash), PHC_DEFAULT);
    assert.deepEqual(body.scopes, ['town.read', 'admin']);
    assert.equal(await verifyToken(String(body.hash), String(body.token)), true);
    assert.ok(!r.stderr.includes(String(body.token)));
  });

  test('--token-length 32 and 4096 are honoured exactly', async () => {
    for (const n of [32, 4096]) {
      const r = await run(['--json', '--token-length', String(n)]);
      assert.equal(r.code, 0, r.stderr);
      const { token, hash } = JSON.parse(r.stdout) as { token: string; hash: string };
      assert.match(token, new RegExp(`^[A-Za-z0-9]{${n}}$`));
      assert.equal(await verifyToken(hash, token), true);
    }
  });

  test('--token-length outside 32-4096 or not an integer exits 2', async () => {
    for (const bad of ['31', '4097', '0', '-5', '64.5', 'abc', '']) {
      assertUsageError(await run([`--token-length=${bad}`]), '--token-length');
    }
  });

  test('--scopes with an unknown scope exits 2 naming it', async () => {
    assertUsageError(await run(['--scopes', 'town.read,town.delete']), '"town.delete"');
    assertUsageError(await run(['--scopes', 'town.read,,admin']), 'empty');
  });

  test('--scopes town.read,admin appears in the TOML snippet and the env lines', async () => {
    const text = await run(['--scopes', 'town.read,admin']);
    assert.equal(text.code, 0, text.stderr);
    const toml = parse(text.stdout.slice(text.stdout.indexOf('\n\n') + 2)) as {
      townhall: { auth: { keys: Array<{ scopes: string[] }> } };
    };
    assert.deepEqual(toml.townhall.auth.keys[0]!.scopes, ['town.read', 'admin']);
    const env = await run(['--env', '--scopes', 'town.read,admin']);
    assert.equal(envMap(env.stdout).get('TOWNHALL_API_KEY_SCOPES'), 'town.read,admin');
  });

  test('hash reads stdin, strips one newline, and round-trips through verify', async () => {
    const token = 'round-trip token with spaces';
    const hashed = await run(['hash'], `${token}\n`);
    assert.equal(hashed.code, 0, hashed.stderr);
    const hash = hashed.stdout.trimEnd();
    assert.match(hash, PHC_DEFAULT);
    assert.equal(hashed.stdout, `${hash}\n`);

    const ok = await run(['verify', hash], token);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'OK\n');
    const okCrlf = await run(['verify', '--hash', hash], `${token}\r\n`);
    assert.equal(okCrlf.code, 0, okCrlf.stderr);

    const wrong = await run(['verify', hash], 'not the token\n');
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stdout, '');
    assert.match(wrong.stderr, /does not match/);
    assert.ok(!wrong.stderr.includes('not the token'), 'the token is not echoed');
    assert.ok(!wrong.stderr.includes(hash), 'the hash is not echoed');

    // Only one newline is stripped: the second one is part of the token.
    const twoNewlines = await run(['verify', hash], `${token}\n\n`);
    assert.equal(twoNewlines.code, 1);
  });

  test('hash with an empty token exits 2', async () => {
    for (const input of ['', '\n', '\r\n']) {
      assertUsageError(await run(['hash'], input), 'no token');
    }
  });

  test('verify accepts the reference vectors, in any parameter order', async () => {
    for (const [hash, token] of [
      [VECTOR_1.hash, VECTOR_1.token],
      [VECTOR_2.hash, VECTOR_2.token],
      [VECTOR_2_REORDERED, VECTOR_2.token],
    ] as const) {
      const r = await run(['verify', hash], `${token}\n`);
      assert.equal(r.code, 0, `${hash}: ${r.stderr}`);
      assert.equal(r.stdout, 'OK\n');
    }
    const viaFlag = await run(['verify', '--hash', VECTOR_2_REORDERED], VECTOR_2.token);
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    const swapped = await run(['verify', VECTOR_1.hash], VECTOR_2.token);
    assert.equal(swapped.code, 1);
  });

  test('verify without a hash, with a non-PHC hash, or with two hashes exits 2', async () => {
    assertUsageError(await run(['verify'], VECTOR_2.token), 'needs a hash');
    const notPhc = await run(['verify', VECTOR_2.token], VECTOR_2.token);
    assertUsageError(notPhc, 'not an Argon2id PHC string');
    assert.ok(!notPhc.stderr.includes(VECTOR_2.token));
    assertUsageError(await run(['verify', VECTOR_2.hash.replace('argon2id', 'argon2i')], 'x'), 'Argon2id');
    assertUsageError(await run(['verify', VECTOR_2.hash, '--hash', VECTOR_2.hash], 'x'), 'exactly one hash');
    assertUsageError(await run(['verify', VECTOR_2.hash], ''), 'no token');
  });

  test('cost flags show up in the hash parameters, for new keys and for hash', async () => {
    const key = await run(['--json', '--memory-cost', '19456', '--time-cost', '3', '--parallelism', '2']);
    assert.equal(key.code, 0, key.stderr);
    const { hash, token } = JSON.parse(key.stdout) as { hash: string; token: string };
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=3,p=2\$/);
    assert.equal(await verifyToken(hash, token), true);

    const hashed = await run(['hash', '--memory-cost', '12288', '--time-cost', '3'], 'abc\n');
    assert.equal(hashed.code, 0, hashed.stderr);
    assert.match(hashed.stdout, /^\$argon2id\$v=19\$m=12288,t=3,p=1\$/);
    assert.equal(await verifyToken(hashed.stdout.trimEnd(), 'abc'), true);
  });

  test('weak cost flags still work but warn on stderr', async () => {
    const r = await run(['hash', '--memory-cost', '1024', '--time-cost', '1'], 'abc');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    assert.match(r.stderr, /below the OWASP minimum/);
  });

  test('bad cost flags exit 2', async () => {
    assertUsageError(await run(['--memory-cost', '15', '--parallelism', '2']), '8 * parallelism');
    assertUsageError(await run(['--memory-cost', '4194305']), '--memory-cost');
    assertUsageError(await run(['--time-cost', '0']), '--time-cost');
    assertUsageError(await run(['--time-cost', '101']), '--time-cost');
    assertUsageError(await run(['hash', '--parallelism', '65'], 'x'), '--parallelism');
    assertUsageError(await run(['hash', '--parallelism', 'two'], 'x'), '--parallelism');
  });
});
