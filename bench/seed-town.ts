// Seeds a large town fast, for `--scale`: the records are made by the town's
// own functions (spawnAgent, addBacklog, sendMessage) inside transactions on
// the store's own in-memory state, in batches of 10,000, and written as one
// snapshot with the store's own writer, so Townhall's start-up is a real
// recovery of a real data directory, without a million HTTP requests first.
import { mkdir } from 'node:fs/promises';
import { createMemoryState } from '../src/store/memory-state.js';
import { writeSnapshot } from '../src/store/snapshot.js';
import { captureSnapshot } from '../src/store/state-capture.js';
import { spawnAgent } from '../src/town/agents.js';
import { addBacklog } from '../src/town/backlog.js';
import { sendMessage } from '../src/town/messages.js';
import { createWriteContext, type WriteContext } from '../src/town/write-context.js';

export const AGENTS = 100;
const BATCH = 10_000;

export interface SeededTown {
  records: number;
  tasks: number;
  messages: number;
  agents: string[];
  /** The first backlog tasks' ids, in backlog order (claims take these). */
  firstTaskIds: string[];
  seconds: number;
}

/**
 * Backlog tasks and messages (about one message per ten tasks, as in issue
 * 11's 1M + 100k town, and at least two per agent) spread over 100 agents.
 */
export async function seedTown(storeDir: string, records: number): Promise<SeededTown> {
  const started = performance.now();
  const state = createMemoryState();
  const inBatch = (fn: (w: WriteContext) => void): void => {
    const { ops } = state.run((tx) => fn(createWriteContext(tx, Date.now())));
    state.apply(ops);
  };
  const agents = Array.from({ length: AGENTS }, (_, i) => `agent-${i}`);
  inBatch((w) => agents.forEach((name) => spawnAgent(w, 'claude', { name })));
  const messages = Math.min(records, Math.max(2 * AGENTS, Math.round(records / 11)));
  const tasks = records - messages;
  const firstTaskIds: string[] = [];
  for (let done = 0; done < tasks; done += BATCH) {
    inBatch((w) => {
      for (let i = done; i < Math.min(tasks, done + BATCH); i++) {
        const task = addBacklog(w, { description: `Seeded task ${i}: fix the flaky test in module ${i % 97} and report back`, tags: ['seed', `m${i % 97}`] });
        if (firstTaskIds.length < 1000) firstTaskIds.push(task.id);
      }
    });
  }
  for (let done = 0; done < messages; done += BATCH) {
    inBatch((w) => {
      for (let i = done; i < Math.min(messages, done + BATCH); i++) {
        sendMessage(w, { to: agents[i % AGENTS]!, message: `Seeded message ${i}: please pick up the next task when free`, urgent: i % 10 === 0 });
      }
    });
  }
  await mkdir(storeDir, { recursive: true });
  await writeSnapshot(storeDir, captureSnapshot(1, state));
  return { records, tasks, messages, agents, firstTaskIds, seconds: (performance.now() - started) / 1000 };
}
