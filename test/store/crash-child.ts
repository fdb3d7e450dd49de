// Child process for crash.test.ts: opens a journal store (durability
// "always") on the directory given as argv[2] and commits a stream of
// transactions (helpers/commit-stream.ts); the parent SIGKILLs it mid-stream.
import { openJournalStore } from '../../src/store/journal-store.js';
import { commitStream } from '../helpers/commit-stream.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: crash-child DIR');
await commitStream(await openJournalStore({ dir, durability: 'always', compactAfterBytes: 64 * 1024, logger: console }));
