// A real crash at the store level: a child commits transactions with
// durability "always" and is SIGKILLed mid-stream; every id it acknowledged
// (printed after `transact` resolved) must be there after reopening.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openJournalStore } from '../../src/store/journal-store.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const KILL_AFTER_ACKS = 200;

test('every transaction acknowledged before a SIGKILL survives it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-crash-'));
  try {
    const acked = await runAndKill(dir);
    assert.ok(acked.length >= KILL_AFTER_ACKS, `child acknowledged only ${acked.length} transactions`);

    const warnings: string[] = [];
    const store = await openJournalStore({ dir, durability: 'always', logger: { warn: (m) => void warnings.push(m) } });
    try {
      assert.match(warnings.join('\n'), /stale lock/, 'the dead child left its lock behind');
      const present = await store.read((tx) => new Set(tx.list<{ id: string }>('tasks').map((t) => t.id)));
      const missing = acked.filter((id) => !present.has(id));
      assert.deepEqual(missing, [], 'acknowledged transactions were lost');
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Run the child until it has acknowledged KILL_AFTER_ACKS ids, SIGKILL it, return every id it printed. */
function runAndKill(dir: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      acked.push(...lines);
      if (acked.length >= KILL_AFTER_ACKS && child.exitCode === null) child.kill('SIGKILL');
    });
    child.once('error', reject);
    // 'close' waits for stdout to drain, so every id the child wrote before dying is counted.
    child.once('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own (code ${code}) after ${acked.length} acks`));
      else resolve(acked);
    });
  });
}
