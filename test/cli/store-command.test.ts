// `townhall store export|import` through the real launcher: a journal town
// goes to Redis and back unchanged (records, ids, order, scalars), and bad
// input or a non-empty target is refused with one line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { openJournalStore } from '../../src/store/journal-store.js';
import { redisSkipReason, startTestRedis } from '../helpers/redis-server.js';

const BIN = fileURLToPath(new URL('../../../bin/townhall.js', import.meta.url));
const skip = redisSkipReason();

function run(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

async function townDir(root: string, name: string, toml: string): Promise<string> {
  const dir = join(root, name);
  await rm(dir, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
  await writeFile(join(dir, 'tinytown.toml'), toml);
  return dir;
}

test('a town moves journal -> Redis -> journal through store export/import unchanged', { skip }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'townhall-export-'));
  const redis = await startTestRedis();
  try {
    const town = `move-${randomUUID()}`;
    const journalToml = `name = "${town}"\n[townhall.store]\npath = "data"\n`;
    const redisToml = `name = "${town}"\n[townhall.store]\nbackend = "redis"\nredis_url = "${redis.url}"\n`;
    const a = await townDir(root, 'a', journalToml);
    const store = await openJournalStore({ dir: join(a, 'data'), durability: 'always', logger: { warn: () => {} } });
    await store.transact((tx) => {
      for (const id of ['t1', 't2', 't3']) tx.put('tasks', id, { id, text: `task ${id} ✓`, tags: ['x'] });
      tx.put('agents', 'a1', { id: 'a1', name: 'mia' });
      tx.put('meta', 'seq', 42);
      tx.put('meta', 'name:mia', 'a1');
    });
    await store.transact((tx) => {
      tx.delete('tasks', 't1');
      tx.put('tasks', 't1', { id: 't1', text: 'moved to the end' });
    });
    await store.close();

    const first = await run(['store', 'export', '--town', a]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /exported 6 records/);
    const lines = first.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 8);
    assert.deepEqual(JSON.parse(lines[4]!), ['tasks', 't1', { id: 't1', text: 'moved to the end' }], 'order is kept');

    const b = await townDir(root, 'b', redisToml);
    const imported = await run(['store', 'import', '--town', b], first.stdout);
    assert.equal(imported.code, 0, imported.stderr);
    const fromRedis = await run(['store', 'export', '--town', b]);
    assert.equal(fromRedis.stdout, first.stdout, 'Redis holds the same town');

    const again = await run(['store', 'import', '--town', b], first.stdout);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^townhall store: the target store already holds 6 records; import only into an empty store\n$/);

    const c = await townDir(root, 'c', journalToml);
    assert.equal((await run(['store', 'import', '--town', c], fromRedis.stdout)).code, 0);
    assert.equal((await run(['store', 'export', '--town', c])).stdout, first.stdout, 'and back into a journal unchanged');

    const d = await townDir(root, 'd', journalToml);
    const truncated = await run(['store', 'import', '--town', d], lines.slice(0, 5).join('\n'));
    assert.equal(truncated.code, 1);
    assert.match(truncated.stderr, /the file is truncated/);
    assert.equal((await run(['store', 'frobnicate'])).code, 2);
  } finally {
    await redis.cleanup();
    await rm(root, { recursive: true, force: true });
  }
});
