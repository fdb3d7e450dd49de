// In-process tests of the auth-tool pieces: token generation, stdin handling,
// argument parsing and runAuthTool with fake streams.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { verifyToken } from '../../src/auth/argon2-hash.js';
import { parseAuthToolArgs, UsageError } from '../../src/cli/auth-tool-args.js';
import { runAuthTool } from '../../src/cli/auth-tool.js';
import { generateToken, TOKEN_ALPHABET } from '../../src/cli/random-token.js';
import { readStdin, StdinInputError, stripOneTrailingNewline } from '../../src/cli/read-stdin.js';

describe('generateToken', () => {
  test('returns exactly the requested length, alphabet only', () => {
    for (const n of [1, 31, 32, 33, 64, 247, 248, 1000, 4096]) {
      const token = generateToken(n);
      assert.equal(token.length, n);
      assert.match(token, /^[A-Za-z0-9]+$/);
    }
  });

  test('rejects lengths that are not positive integers', () => {
    for (const n of [0, -1, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => generateToken(n), RangeError);
    }
  });

  test('is roughly uniform: every character appears, none is favoured (guards modulo bias)', () => {
    const counts = new Map<string, number>();
    const tokens = 4000;
    for (let i = 0; i < tokens; i++) {
      for (const ch of generateToken(64)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    assert.equal(TOKEN_ALPHABET.length, 62);
    assert.deepEqual([...counts.keys()].sort(), [...TOKEN_ALPHABET].sort());
    // Expected ~4129 per character, standard deviation ~64. Plain `byte % 62`
    // would give 8 characters ~21% more; ±10% is > 6 sigma for the fair case.
    const expected = (tokens * 64) / 62;
    for (const [ch, n] of counts) {
      assert.ok(Math.abs(n - expected) < expected * 0.1, `${ch} appeared ${n} times, expected ~${Math.round(expected)}`);
    }
  });

  test('does not repeat', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generateToken(32)));
    assert.equal(seen.size, 1000);
  });
});

describe('stdin handling', () => {
  test('stripOneTrailingNewline removes exactly one \\n or \\r\\n', () => {
    assert.equal(stripOneTrailingNewline('abc'), 'abc');
    assert.equal(stripOneTrailingNewline('abc\n'), 'abc');
    assert.equal(stripOneTrailingNewline('abc\r\n'), 'abc');
    assert.equal(stripOneTrailingNewline('abc\n\n'), 'abc\n');
    assert.equal(stripOneTrailingNewline('abc\r'), 'abc\r');
    assert.equal(stripOneTrailingNewline(' abc \n'), ' abc ');
    assert.equal(stripOneTrailingNewline('\n'), '');
  });

  test('readStdin joins chunks and decodes UTF-8', async () => {
    const text = await readStdin(Readable.from([Buffer.from('tö'), Buffer.from([0xc3]), Buffer.from([0xa9, 0x0a])]), 100);
    assert.equal(text, 'töé\n', 'a character split across chunks decodes');
  });

  test('readStdin stops at the byte limit and refuses invalid UTF-8, without echoing input', async () => {
    await assert.rejects(readStdin(Readable.from([Buffer.alloc(60, 'a'), Buffer.alloc(60, 'b')]), 100), (err: Error) => {
      assert.ok(err instanceof StdinInputError);
      assert.ok(!err.message.includes('aaa'));
      return true;
    });
    await assert.rejects(readStdin(Readable.from([Buffer.from([0x61, 0xff, 0x62])]), 100), StdinInputError);
  });
});

describe('parseAuthToolArgs', () => {
  test('defaults: text output, 64 characters, admin (null scopes), m=19456,t=2,p=1', () => {
    assert.deepEqual(parseAuthToolArgs([]), {
      kind: 'generate',
      format: 'text',
      envPrefix: 'TOWNHALL_',
      tokenLength: 64,
      scopes: null,
      params: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
    });
  });

  test('scopes keep their order and drop duplicates', () => {
    const cmd = parseAuthToolArgs(['--scopes', 'admin,town.read,admin']);
    assert.equal(cmd.kind, 'generate');
    assert.deepEqual(cmd.kind === 'generate' && cmd.scopes, ['admin', 'town.read']);
  });

  test('--help wins over everything else that parses', () => {
    assert.deepEqual(parseAuthToolArgs(['verify', '--help']), { kind: 'help' });
  });

  test('verify takes the hash positionally or via --hash', () => {
    assert.deepEqual(parseAuthToolArgs(['verify', '$h']), { kind: 'verify', phc: '$h' });
    assert.deepEqual(parseAuthToolArgs(['verify', '--hash', '$h']), { kind: 'verify', phc: '$h' });
  });

  test('usage mistakes throw UsageError', () => {
    for (const argv of [
      ['--token-length', '4097'],
      ['--memory-cost', '7'],
      ['--parallelism', '3', '--memory-cost', '23'],
      ['--scopes', 'town.read,nope'],
      ['--env-prefix', 'TOWNHALL'],
      ['--env', '--env-prefix', 'TOWNHALL'],
      ['--env', '--env-prefix', '1X_'],
      ['hash', 'extra'],
      ['verify', 'a', 'b'],
      ['--unknown'],
      ['--token-length'],
    ]) {
      assert.throws(() => parseAuthToolArgs(argv), UsageError, argv.join(' '));
    }
  });
});

function fakeIo(input: string) {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (s: string) => void (out.stdout += s),
      stderr: (s: string) => void (out.stderr += s),
      stdin: () => Promise.resolve(input),
    },
  };
}

describe('runAuthTool in-process', () => {
  test('hash strips \\r\\n and the result verifies the bare token', async () => {
    const { out, io } = fakeIo('secret-token\r\n');
    assert.equal(await runAuthTool(['hash'], io), 0);
    assert.equal(await verifyToken(out.stdout.trimEnd(), 'secret-token'), true);
    assert.ok(!out.stderr.includes('secret-token'));
  });

  test('a stdin read error is a usage error (exit 2) and does not echo input', async () => {
    const out = { stdout: '', stderr: '' };
    const code = await runAuthTool(['hash'], {
      stdout: (s) => void (out.stdout += s),
      stderr: (s) => void (out.stderr += s),
      stdin: () => Promise.reject(new StdinInputError('stdin is not valid UTF-8')),
    });
    assert.equal(code, 2);
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /not valid UTF-8/);
  });

  test('verify rejects a malformed hash before reading stdin', async () => {
    let read = false;
    const out = { stderr: '' };
    const code = await runAuthTool(['verify', '$argon2id$v=19$m=19456$abc$def'], {
      stdout: () => {},
      stderr: (s) => void (out.stderr += s),
      stdin: () => {
        read = true;
        return Promise.resolve('x');
      },
    });
    assert.equal(code, 2);
    assert.equal(read, false);
    assert.ok(!out.stderr.includes('$abc$def'), 'the hash is not echoed');
  });

  test('verify refuses a hash whose cost would pin the machine, before reading stdin', async () => {
    const { out, io } = fakeIo('x');
    const huge = '$argon2id$v=19$m=19456,t=4294967295,p=1$xiJp23vp95Pk0dHymo8PTg$lKsmTa1NyjSlgxY275HVu1Auh/7LdwjbkYo6ii/Lr8E';
    assert.equal(await runAuthTool(['verify', huge], io), 2);
    assert.match(out.stderr, /cost is beyond/);
  });

  test('default run writes nothing but the key lines and snippet to stdout', async () => {
    const { out, io } = fakeIo('');
    assert.equal(await runAuthTool(['--token-length', '40'], io), 0);
    const lines = out.stdout.split('\n');
    assert.match(lines[0]!, /^Key ID: /);
    assert.match(lines[1]!, /^API Key: [A-Za-z0-9]{40}$/);
    assert.match(lines[2]!, /^Hash: \$argon2id\$/);
    assert.ok(!out.stdout.includes('curl'));
    assert.ok(out.stderr.includes('curl'));
  });
});
