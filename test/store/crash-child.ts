// Child process for crash.test.ts: opens a journal store (durability
// "always") on the directory given as argv[2] and commits a stream of
// transactions from a few concurrent workers, printing each id on its own line
// only after `transact` resolved. The parent SIGKILLs it mid-stream. Bounded
// in count and time so a lost parent never leaves it running.
import { openJournalStore } from '../../src/store/journal-store.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: crash-child DIR');

const MAX_TRANSACTIONS = 20_000;
const DEADLINE = Date.now() + 15_000;
const WORKERS = 8;

const store = await openJournalStore({ dir, durability: 'always', compactAfterBytes: 64 * 1024, logger: console });
let next = 0;

async function worker(): Promise<void> {
  while (next < MAX_TRANSACTIONS && Date.now() < DEADLINE) {
    const id = `t${next++}`;
    await store.transact((tx) => tx.put('tasks', id, { id, body: 'payload '.repeat(8) }));
    process.stdout.write(`${id}\n`);
  }
}

await Promise.all(Array.from({ length: WORKERS }, worker));
await store.close();
