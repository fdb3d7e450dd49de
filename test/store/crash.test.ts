// A real crash at the store level: a child commits transactions and is
// SIGKILLed mid-stream; every id it acknowledged (printed after `transact`
// resolved) must be there after reopening. With durability "none" too: its
// answers wait for the write(2), not for the disk, so a crash of the process
// (not of the machine) loses nothing acknowledged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openJournalStore } from '../../src/store/journal-store.js';
import { runAndKill } from '../helpers/kill-after-acks.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const KILL_AFTER_ACKS = 200;

for (const durability of ['always', 'none'] as const) test(`every transaction acknowledged before a SIGKILL survives it (durability ${durability})`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'townhall-crash-'));
  try {
    const acked = await runAndKill(CHILD, [dir, durability], KILL_AFTER_ACKS);
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

