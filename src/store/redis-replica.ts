// One replica's copy of a town: the in-memory state (memory-state.ts) and the
// log version it reflects, brought up to date from the Redis log.
//
// Only the store's lane calls the async methods, one at a time, so the copy
// always equals the state after some prefix of the log: entries are applied
// strictly in version order, and a gap (entries trimmed away, or Redis behind
// us after losing data) means a full reload from snapshot + log.
//
// Safety: a malformed entry stops the replica (StoreUnavailableError
// 'failed'); messages name the version only, never record contents.
import type { Redis } from 'ioredis';
import { createMemoryState, type MemoryState, type StoreOp } from './memory-state.js';
import { runScript } from './redis-connection.js';
import { decodeOps, decodeSnapshot, encodeSnapshotParts } from './redis-log-codec.js';
import { SNAPSHOT_SCRIPT } from './redis-scripts.js';
import { randomUUID } from 'node:crypto';

/** A staging snapshot not renamed within this long belonged to a replica that died. */
const STAGING_TTL_MS = 10 * 60_000;
import type { TownKeys } from './redis-keys.js';
import { StoreUnavailableError } from './store-errors.js';
import type { RecordChange } from './store.js';

const PAGE = 500;

/** A stream entry as Redis returns it: id `<version>-0`, fields ["ops", json]. */
export type LogEntry = [id: string, fields: string[]];

export interface ReplicaCopy {
  readonly state: MemoryState;
  /** The log version the state reflects. */
  readonly logVersion: number;
  /** Bumped by every change of the state, including reloads (Store.version()). */
  readonly changeCount: number;
  /** Apply the ops this replica just committed as version `version`. */
  applyOwn(ops: readonly StoreOp[], version: number): void;
  /** Read and apply the log after our version; returns what changed (null: nothing). */
  catchUp(): Promise<readonly RecordChange[] | 'reset' | null>;
  /**
   * Apply log entries already fetched (a lost commit's reply); null when they
   * do not continue our version, so the caller must catch up instead.
   */
  applyEntries(entries: readonly LogEntry[]): RecordChange[] | null;
  /** Replace the state with the snapshot plus the log after it. */
  reload(): Promise<void>;
  /**
   * Store the state as the town's snapshot (if newer than the stored one) and
   * trim the log to `keep` entries before it; true when stored.
   */
  writeSnapshot(keep: number): Promise<boolean>;
}

export function createReplicaCopy(client: Redis, keys: TownKeys, logger: { warn(msg: string): void }): ReplicaCopy {
  let state = createMemoryState();
  let logVersion = 0;
  let changeCount = 0;

  function decodeEntry(id: string, fields: string[]): { version: number; ops: StoreOp[] } {
    const version = Number(id.split('-')[0]);
    const text = fields[0] === 'ops' ? fields[1] : undefined;
    const ops = text === undefined ? undefined : decodeOps(text);
    if (!Number.isSafeInteger(version) || ops === undefined) {
      throw new StoreUnavailableError('failed', `the Redis log entry ${id} of ${keys.log} is malformed; the replica stops`);
    }
    return { version, ops };
  }

  async function reload(): Promise<void> {
    const replies = await client.multi().get(keys.snapshot).xrange(keys.log, '-', '+').get(keys.version).exec();
    if (replies === null) throw new StoreUnavailableError('unreachable', 'the reload transaction was aborted');
    for (const [err] of replies) if (err !== null) throw err;
    const snapshotText = replies[0]![1] as string | null;
    const entries = replies[1]![1] as [string, string[]][];
    const fresh = createMemoryState();
    let version = 0;
    if (snapshotText !== null) {
      const snapshot = decodeSnapshot(snapshotText);
      if (snapshot === undefined) throw new StoreUnavailableError('failed', `the Redis snapshot ${keys.snapshot} is malformed; the replica stops`);
      fresh.apply(snapshot.ops);
      version = snapshot.version;
    }
    for (const [id, fields] of entries) {
      const entry = decodeEntry(id, fields);
      if (entry.version <= version) continue;
      if (entry.version !== version + 1) {
        throw new StoreUnavailableError('failed', `the Redis log ${keys.log} has a gap after version ${version}; the replica stops`);
      }
      fresh.apply(entry.ops);
      version = entry.version;
    }
    state = fresh;
    logVersion = version;
    changeCount++;
  }

  function applyEntries(entries: readonly LogEntry[]): RecordChange[] | null {
    const changes: RecordChange[] = [];
    for (const [id, fields] of entries) {
      const entry = decodeEntry(id, fields);
      if (entry.version !== logVersion + 1) return changes.length === 0 ? null : changes;
      state.apply(entry.ops);
      logVersion = entry.version;
      changeCount++;
      for (const op of entry.ops) changes.push({ collection: op.collection, id: op.id, value: op.kind === 'put' ? op.value : undefined });
    }
    return changes;
  }

  return {
    async writeSnapshot(keep) {
      const version = logVersion;
      const parts = await encodeSnapshotParts(version, state);
      // Uploaded a part at a time into a key of its own, so neither this process nor the Redis
      // client ever holds the whole text as one buffer; the TTL cleans up after a replica that dies mid-way.
      const staging = `${keys.snapshotStaging}${randomUUID()}`;
      let stored = false;
      try {
        for (const [i, part] of parts.entries()) {
          await client.append(staging, part);
          if (i === 0) await client.pexpire(staging, STAGING_TTL_MS);
        }
        stored = (await runScript(client, SNAPSHOT_SCRIPT, [keys.snapshot, keys.snapshotVersion, keys.log, staging], [version, keep])) === 1;
        return stored;
      } finally {
        if (!stored) await client.del(staging).catch(() => {});
      }
    },
    applyEntries,
    get state() {
      return state;
    },
    get logVersion() {
      return logVersion;
    },
    get changeCount() {
      return changeCount;
    },
    applyOwn(ops, version) {
      if (version !== logVersion + 1) throw new Error(`internal: applying version ${version} on top of ${logVersion}`);
      state.apply(ops);
      logVersion = version;
      changeCount++;
    },
    async catchUp() {
      const changes: RecordChange[] = [];
      for (;;) {
        const entries = (await client.xrange(keys.log, String(logVersion + 1), '+', 'COUNT', PAGE)) as LogEntry[];
        if (entries.length === 0) {
          // Nothing after us in the log: either up to date, or Redis is behind us (it lost data).
          const remote = Number((await client.get(keys.version)) ?? '0');
          if (remote >= logVersion) return changes.length > 0 ? changes : null;
          logger.warn(`Redis holds version ${remote} of the town but this replica has ${logVersion}: Redis lost acknowledged writes (AOF off?); reloading from Redis`);
          await reload();
          return 'reset';
        }
        const applied = applyEntries(entries);
        if (applied === null) {
          // Trimmed past us (we were far behind): start over from the snapshot.
          await reload();
          return 'reset';
        }
        changes.push(...applied);
        if (entries.length < PAGE) return changes;
      }
    },
    reload,
  };
}
