// The CRS desk: Buttercup's task API over the town, each call one transaction.
// It also enforces deadlines: lazily before every status read, and from a
// timer (main.ts calls `expireDue` every second) that does no store work until
// the earliest known deadline has passed.
import {
  cancelAllCrsTasks,
  cancelCrsTask,
  crsStatus,
  expireCrsDeadlines,
  nextCrsDeadline,
  purgeCrsMemory,
  resetCrsStatus,
  storeCrsSarif,
  submitCrsTasks,
  type CrsSarifBroadcast,
  type CrsStatus,
  type CrsTaskMessage,
  type SubmitResult,
} from './crs.js';
import type { Town } from './town.js';

export interface CrsDesk {
  submit(msg: CrsTaskMessage): Promise<SubmitResult>;
  cancel(taskId: string): Promise<void>;
  cancelAll(): Promise<number>;
  submitSarif(msg: CrsSarifBroadcast): Promise<number>;
  status(): Promise<CrsStatus>;
  resetStatus(): Promise<void>;
  /** Fails CRS tasks whose deadline passed; a no-op until the earliest deadline. */
  expireDue(): Promise<void>;
  /** Forgets old message ids and early cancels (main.ts calls it hourly). */
  purge(): Promise<number>;
}

/**
 * How often the earliest deadline is re-read from the store: with the Redis
 * backend another replica may have taken tasks this one has not seen.
 */
const RESCAN_MS = 30_000;

export function createCrsDesk(town: Pick<Town, 'now' | 'mutate' | 'view'>): CrsDesk {
  // The earliest deadline of an unfinished CRS task; null until first computed.
  // It may be too early (the task was since cancelled): that costs one scan.
  let nextDeadline: number | null = null;
  let scannedAt = -Infinity;

  async function expireDue(): Promise<void> {
    if (nextDeadline === null || town.now() - scannedAt >= RESCAN_MS) {
      scannedAt = town.now();
      nextDeadline = await town.view(nextCrsDeadline);
    }
    if (town.now() < nextDeadline) return;
    nextDeadline = await town.mutate(expireCrsDeadlines);
  }

  return {
    async submit(msg) {
      const result = await town.mutate((w) => submitCrsTasks(w, msg));
      const earliest = Math.min(...msg.tasks.map((t) => t.deadline));
      if (nextDeadline !== null && earliest < nextDeadline) nextDeadline = earliest;
      return result;
    },
    cancel: (taskId) => town.mutate((w) => cancelCrsTask(w, taskId)),
    cancelAll: () => town.mutate(cancelAllCrsTasks),
    submitSarif: (msg) => town.mutate((w) => storeCrsSarif(w, msg)),
    async status() {
      await expireDue();
      return town.view(crsStatus);
    },
    resetStatus: () => town.mutate(resetCrsStatus),
    expireDue,
    purge: () => town.mutate(purgeCrsMemory),
  };
}
