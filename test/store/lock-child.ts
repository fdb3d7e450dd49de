// Child process for lock.test.ts: loads the store, prints "ready", waits for
// "go" on stdin so the parent can release both children of a pair at the same
// instant, then opens the journal store on argv[2] and commits one write.
// Prints "ok" when it holds the directory or "refused <message>" when not, and
// then waits to be killed (a held lock stays held). Bounded in time so a lost
// parent never leaves it running.
import { openJournalStore, StoreOpenError } from '../../src/store/journal-store.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: lock-child DIR');
setTimeout(() => process.exit(2), 30_000).unref();

process.stdin.setEncoding('utf8');
process.stdin.once('data', () => {
  openJournalStore({ dir, durability: 'always', logger: { warn: () => {} } }).then(
    async (store) => {
      await store.transact((tx) => tx.put('meta', `pid-${process.pid}`, process.pid));
      process.stdout.write('ok\n');
      setInterval(() => {}, 1000);
    },
    (err: unknown) => {
      process.stdout.write(`refused ${err instanceof StoreOpenError ? err.message : String(err)}\n`);
      process.exit(0);
    },
  );
});
process.stdout.write('ready\n');
