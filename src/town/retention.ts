// Retention (`[townhall.store] retain_completed_secs`, default 7 days; 0 keeps
// everything): finished tasks (completed, failed, cancelled) are deleted once
// they finished longer ago than that, so a town that works for months holds
// its live work and its recent history, not every task it ever ran.
//
// Deletions are ordinary transactions (journaled, replicated on Redis, seen by
// every index), in batches, so a sweep that finds a million due tasks never
// holds the event loop for long and requests run between its batches. Queued
// messages are not swept: a message leaves its mailbox when it is taken.
// Finished tasks without a completion time are kept (their age is unknown).
import type { Town } from './town.js';
import { FINISHED } from './town-indexes.js';
import type { WriteContext } from './write-context.js';

export const RETENTION_BATCH = 1000;

/** Delete up to `batch` finished tasks that finished more than `retainMs` ago, oldest first; returns how many. */
export function dropFinishedTasks(w: WriteContext, retainMs: number, batch = RETENTION_BATCH): number {
  const cutoff = w.nowMs - retainMs;
  const doomed: string[] = [];
  for (const { id, key } of w.tx.index(FINISHED).entries('finished')) {
    // FINISHED's key is the tuple [finished at, seq].
    if (doomed.length >= batch || ((key as readonly number[])[0] as number) >= cutoff) break;
    doomed.push(id);
  }
  for (const id of doomed) w.tx.delete('tasks', id);
  return doomed.length;
}

/** Run batches until none is full; returns how many tasks went. */
export async function applyRetention(town: Pick<Town, 'mutate'>, retainMs: number, batch = RETENTION_BATCH): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await town.mutate((w) => dropFinishedTasks(w, retainMs, batch));
    total += n;
    if (n < batch) return total;
  }
}

/** How often to sweep: a quarter of the retention, from 1 s to 1 min. */
export function retentionIntervalMs(retainSecs: number): number {
  return Math.min(60_000, Math.max(1000, (retainSecs * 1000) / 4));
}
