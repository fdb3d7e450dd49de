// With durability "always" every journal write must be durable when it
// returns, with no separate fdatasync per batch: journal.log is opened O_DSYNC,
// at open and again after a compaction replaces it. Checked on Linux through
// /proc/self/fdinfo (the flags the kernel holds for the open file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJournalStore, type JournalIo } from '../../src/store/journal-store.js';
import { nodeJournalIo } from '../../src/store/journal-writer.js';

const linux = process.platform === 'linux';
const quiet = { warn: () => {}, info: () => {} };

/** The flags of every fd this process holds on `file`. */
function openFlags(file: string): number[] {
  const out: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target !== file) continue;
    const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    if (m) out.push(parseInt(m[1]!, 8));
  }
  return out;
}

const DSYNC = (constants as { O_DSYNC?: number }).O_DSYNC ?? 0;

for (const durability of ['always', 'none'] as const) {
  test(`durability "${durability}": journal.log is ${durability === 'always' ? '' : 'not '}opened O_DSYNC, before and after a compaction`, { skip: !linux }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'townhall-dsync-'));
    try {
      let syncs = 0;
      const io: JournalIo = { ...nodeJournalIo, fdatasync: (fd) => (syncs++, nodeJournalIo.fdatasync(fd)) };
      const store = await openJournalStore({ dir, durability, compactAfterBytes: 4096, io, logger: quiet });
      const file = join(dir, 'journal.log');
      const want = durability === 'always' ? DSYNC : 0;
      assert.deepEqual(openFlags(file).map((f) => f & DSYNC), [want]);
      syncs = 0;
      for (let i = 0; i < 50; i++) await store.transact((tx) => tx.put('tasks', `t${i}`, { id: `t${i}`, pad: 'x'.repeat(200) }));
      assert.equal(syncs, 0, 'no fdatasync per batch: the write itself was durable (or, with "none", not asked to be)');
      for (let i = 0; i < 100 && store.stats().compactions === 0; i++) {
        await store.transact((tx) => tx.put('tasks', `more${i}`, { id: `more${i}`, pad: 'y'.repeat(200) }));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.ok(store.stats().compactions >= 1, 'a compaction replaced journal.log');
      assert.deepEqual(openFlags(file).map((f) => f & DSYNC), [want]);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
