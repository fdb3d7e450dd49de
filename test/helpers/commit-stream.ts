// The crash children's work, for every store: a few concurrent workers commit
// a stream of small transactions and print each id on its own line only after
// `transact` resolved (so every printed id was acknowledged). Bounded in count
// and time, so a lost parent never leaves a child running.
import type { Store } from '../../src/store/store.js';

const MAX_TRANSACTIONS = 20_000;
const WORKERS = 8;

export async function commitStream(store: Store, seconds = 15): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  let next = 0;
  async function worker(): Promise<void> {
    while (next < MAX_TRANSACTIONS && Date.now() < deadline) {
      const id = `t${next++}`;
      await store.transact((tx) => tx.put('tasks', id, { id, body: 'payload '.repeat(8) }));
      process.stdout.write(`${id}\n`);
    }
  }
  await Promise.all(Array.from({ length: WORKERS }, worker));
  await store.close();
}
