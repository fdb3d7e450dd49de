// Child process for crash.test.ts: opens a journal store on the directory
// given as argv[2], with the durability given as argv[3] ("always" when
// absent), and commits a stream of transactions (helpers/commit-stream.ts);
// the parent SIGKILLs it mid-stream.
import { openJournalStore } from '../../src/store/journal-store.js';
import { commitStream } from '../helpers/commit-stream.js';

const dir = process.argv[2];
const durability = process.argv[3] ?? 'always';
if (dir === undefined || (durability !== 'always' && durability !== 'none')) throw new Error('usage: crash-child DIR [always|none]');
await commitStream(await openJournalStore({ dir, durability, compactAfterBytes: 64 * 1024, logger: console }));
