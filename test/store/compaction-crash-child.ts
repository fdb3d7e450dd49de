// Child process for journal-compaction.test.ts: commits a stream of
// transactions (durability "always", a small compact_after_bytes) and SIGKILLs
// itself at one step of the first compaction that gets that far, named by
// argv[3] as `<JournalIo step>:<during|after>` ("during": one event-loop turn
// after the step started, while it runs).
import { openJournalStore, type JournalIo } from '../../src/store/journal-store.js';
import { nodeJournalIo } from '../../src/store/journal-writer.js';
import { commitStream } from '../helpers/commit-stream.js';

const [dir, at] = process.argv.slice(2);
if (dir === undefined || at === undefined) throw new Error('usage: compaction-crash-child DIR STEP:during|after');
const [step, when] = at.split(':') as [keyof JournalIo, 'during' | 'after'];
const die = (): void => void process.kill(process.pid, 'SIGKILL');
const io: JournalIo = { ...nodeJournalIo };
const real = nodeJournalIo[step] as (...args: unknown[]) => Promise<unknown>;
(io as unknown as Record<string, unknown>)[step] = async (...args: unknown[]) => {
  if (when === 'during') setImmediate(die);
  const result = await real(...args);
  if (when === 'after') die();
  return result;
};
await commitStream(await openJournalStore({ dir, durability: 'always', compactAfterBytes: 16 * 1024, io, logger: console }));
