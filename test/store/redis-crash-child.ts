// Child process for redis-crash.test.ts: opens the Redis store (URL and town
// in argv) and commits a stream of transactions (helpers/commit-stream.ts);
// the parent SIGKILLs it mid-stream.
import { openRedisStore } from '../../src/store/redis-store.js';
import { commitStream } from '../helpers/commit-stream.js';

const [url, town] = process.argv.slice(2);
if (url === undefined || town === undefined) throw new Error('usage: redis-crash-child URL TOWN');
await commitStream(await openRedisStore({ url, keyPrefix: 'test', town, logger: console, snapshotEvery: 100 }));
