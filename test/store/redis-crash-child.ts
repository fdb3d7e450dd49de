// Child process for redis-crash.test.ts: opens the Redis store (URL and town
// in argv) and commits a stream of transactions from a few concurrent
// workers, printing each id only after `transact` resolved. The parent
// SIGKILLs it mid-stream. Bounded in count and time.
import { openRedisStore } from '../../src/store/redis-store.js';

const [url, town] = process.argv.slice(2);
if (url === undefined || town === undefined) throw new Error('usage: redis-crash-child URL TOWN');

const MAX_TRANSACTIONS = 20_000;
const DEADLINE = Date.now() + 15_000;
const WORKERS = 8;

const store = await openRedisStore({ url, keyPrefix: 'test', town, logger: console, snapshotEvery: 100 });
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
