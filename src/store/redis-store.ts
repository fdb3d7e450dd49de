// A Store shared by several Townhall processes through Redis
// (docs/design/redis-store.md). Each process keeps the town in memory and
// commits optimistically to the town's log in Redis:
//
//   transact: run the queued functions on the local copy at version V -> ops;
//             append them with the commit script only if Redis is still at V;
//             else catch up from the log and run the functions again.
//   read:     wait until Redis's current version (fetched after the read
//             started) is applied locally, then run the function.
//
// One lane per process serialises commits and catch-ups, so the local copy
// is always the state after some prefix of the log. Transactions queued while
// a commit is in flight form the next batch: one log entry, one script call. A transaction resolves
// only once the commit script replied, i.e. (with appendfsync always) once
// the entry is on Redis's disk.
//
// Safety: Redis errors become StoreUnavailableError (503 + Retry-After) with
// error codes only; a commit whose reply was lost is never re-sent and never
// applied locally (the next catch-up applies it if it did commit).
import type { Redis } from 'ioredis';
import { DEFAULT_COMMAND_TIMEOUT_MS, describeRedisError, openRedisConnections, runScript } from './redis-connection.js';
import { townKeys } from './redis-keys.js';
import { encodeOps } from './redis-log-codec.js';
import { createFreshValue } from './fresh-value.js';
import { createReplicaCopy, type LogEntry } from './redis-replica.js';
import { COMMIT_SCRIPT } from './redis-scripts.js';
import { StoreUnavailableError } from './store-errors.js';
import type { BatchOutcome } from './memory-state.js';
import type { ReadTx, RecordChange, Store, WriteTx } from './store.js';

/** Log entries a lost commit gets back with the refusal (more: a normal catch-up). */
const CONFLICT_ENTRIES = 64;

/** The most transactions one log entry holds. */
const MAX_BATCH = 256;

interface Job {
  fn: (tx: WriteTx) => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export interface RedisStoreOptions {
  url: string;
  /** The CA bundle (PEM) trusted for a rediss:// URL; absent or null: Node's default trust store. */
  ca?: Buffer | null;
  keyPrefix: string;
  town: string;
  logger: { warn(msg: string): void; info?(msg: string): void };
  commandTimeoutMs?: number;
  /** Write a snapshot and trim the log every this many versions. Default 1000. */
  snapshotEvery?: number;
  /** Give up on a transaction that lost this many races in a row. Default 64. */
  maxAttempts?: number;
}

export interface RedisStoreStats {
  /** Log entries this replica appended (each holds a batch of transactions). */
  commits: number;
  /** Transactions in those entries. */
  transactions: number;
  /** Commits refused because another replica committed first (each one re-ran its function). */
  conflicts: number;
  /** Log entries from other replicas applied here. */
  remoteApplied: number;
  snapshots: number;
}

export interface RedisStore extends Store {
  /** False while Redis is unreachable, after a fatal error, or once closing: readiness reports it. */
  healthy(): boolean;
  stats(): RedisStoreStats;
  /** The command connection, for the shared failure limiter. */
  readonly client: Redis;
}

export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const { url, logger } = options;
  const keys = townKeys(options.keyPrefix, options.town);
  const timeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const snapshotEvery = options.snapshotEvery ?? 1000;
  const maxAttempts = options.maxAttempts ?? 64;
  const { client, subscriber } = await openRedisConnections(url, timeout, logger, options.ca ?? null);
  const stats: RedisStoreStats = { commits: 0, transactions: 0, conflicts: 0, remoteApplied: 0, snapshots: 0 };
  const listeners = new Set<(changes: readonly RecordChange[] | 'reset') => void>();
  let lane: Promise<unknown> = Promise.resolve();
  let failed: StoreUnavailableError | undefined;
  let closing: Promise<void> | undefined;
  const copy = createReplicaCopy(client, keys, logger);
  await copy.reload().catch((err: unknown) => {
    client.disconnect();
    subscriber.disconnect();
    throw toStoreError(err, 'loading the town');
  });


  /** Runs `task` after every task queued before it; the lane survives a failed task. */
  function enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = lane.then(task, task);
    lane = run.catch(() => undefined);
    return run;
  }

  function refusal(): StoreUnavailableError | undefined {
    if (closing !== undefined) return new StoreUnavailableError('closed', 'the store is closed');
    return failed;
  }

  function toStoreError(err: unknown, what: string): Error {
    if (err instanceof StoreUnavailableError) {
      if (err.reason === 'failed' && failed === undefined) {
        failed = err;
        logger.warn(err.message);
      }
      return err;
    }
    return new StoreUnavailableError('unreachable', `Redis did not answer while ${what} (${describeRedisError(err)})`);
  }

  /** Errors of a Redis call become StoreUnavailableErrors; the caller's own errors never pass here. */
  function redisCall<T>(what: string, call: Promise<T>): Promise<T> {
    return call.catch((err: unknown) => {
      throw toStoreError(err, what);
    });
  }

  async function catchUpLocked(): Promise<void> {
    const before = copy.logVersion;
    report(await copy.catchUp(), before);
  }

  function report(changes: readonly RecordChange[] | 'reset' | null, before: number): void {
    if (changes === null) return;
    if (changes !== 'reset') stats.remoteApplied += copy.logVersion - before;
    for (const listener of listeners) {
      try {
        listener(changes);
      } catch (err) {
        logger.warn(`a store change listener threw (${err instanceof Error ? err.name : 'error'})`);
      }
    }
  }

  // The version Redis holds, read by a GET sent after the caller started.
  const freshVersion = createFreshValue(() => client.get(keys.version).then((v) => Number(v ?? '0')));

  async function barrier(): Promise<void> {
    const remote = await freshVersion();
    if (remote !== copy.logVersion) await enqueue(catchUpLocked);
  }

  // Group commit: transactions queue here; the drain loop takes everything
  // queued (up to MAX_BATCH) and commits it as one log entry with one script
  // call, so under load one Redis round trip and fsync covers many writes.
  const queue: Job[] = [];
  let draining = false;
  let lastJob: Promise<unknown> = Promise.resolve();

  function submit<T>(fn: (tx: WriteTx) => T): Promise<T> {
    const done = new Promise<T>((resolve, reject) => {
      queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
    });
    lastJob = done.catch(() => undefined);
    if (!draining) {
      draining = true;
      void enqueue(drain);
    }
    return done;
  }

  // One batch per lane turn: catch-ups that reads queued meanwhile run between
  // batches instead of waiting for a sustained stream of writes to stop.
  async function drain(): Promise<void> {
    const batch = queue.splice(0, MAX_BATCH);
    try {
      const outcomes = await commitBatch(batch.map((job) => job.fn));
      outcomes.forEach((outcome, i) => (outcome.ok ? batch[i]!.resolve(outcome.result) : batch[i]!.reject(outcome.error)));
    } catch (err) {
      for (const job of batch) job.reject(err);
    }
    if (queue.length > 0) void enqueue(drain);
    else draining = false;
  }

  async function commitBatch(fns: ((tx: WriteTx) => unknown)[]): Promise<BatchOutcome<unknown>[]> {
    for (let attempt = 1; ; attempt++) {
      const refused = refusal();
      if (refused !== undefined) throw refused;
      const base = copy.logVersion;
      const { outcomes, ops } = copy.state.runBatch(fns);
      let caughtUp = false;
      if (ops.length === 0) {
        if ((await redisCall('reading', freshVersion())) === base) return outcomes;
      } else {
        const script = runScript(client, COMMIT_SCRIPT, [keys.version, keys.log], [base, encodeOps(ops), keys.changed, CONFLICT_ENTRIES]);
        const reply = (await redisCall('committing', script)) as [number, number, LogEntry[]?];
        if (reply[0] === 1) {
          copy.applyOwn(ops, reply[1]);
          stats.commits++;
          stats.transactions += fns.length;
          if (reply[1] % snapshotEvery === 0) void enqueue(writeSnapshot);
          return outcomes;
        }
        stats.conflicts++;
        // The refusal carries what we missed: usually no second round trip is needed.
        const applied = copy.applyEntries(reply[2] ?? []);
        if (applied !== null && applied.length > 0) report(applied, base);
        caughtUp = applied !== null && copy.logVersion === reply[1];
      }
      if (attempt >= maxAttempts) throw new StoreUnavailableError('unreachable', `a commit lost ${attempt} races with other replicas in a row`);
      if (!caughtUp) await redisCall('catching up', catchUpLocked());
    }
  }

  async function writeSnapshot(): Promise<void> {
    try {
      if (await copy.writeSnapshot(snapshotEvery)) stats.snapshots++;
    } catch (err) {
      logger.warn(`writing the Redis snapshot failed (${describeRedisError(err)}); the log keeps growing until the next one`);
    }
  }

  await subscriber.subscribe(keys.changed).catch((err: unknown) => {
    client.disconnect();
    subscriber.disconnect();
    throw toStoreError(err, 'subscribing');
  });
  let catchUpQueued = false;
  subscriber.on('message', (_channel: string, payload: string) => {
    if (catchUpQueued || closing !== undefined || failed !== undefined || !(Number(payload) > copy.logVersion)) return;
    catchUpQueued = true;
    void enqueue(async () => {
      catchUpQueued = false;
      if (failed === undefined && closing === undefined) await catchUpLocked();
    }).catch((err: unknown) => toStoreError(err, 'catching up'));
  });
  // After an outage the copy may be behind: catch up as soon as Redis is back, so waiters wake.
  subscriber.on('ready', () => {
    if (closing === undefined) void enqueue(catchUpLocked).catch((err: unknown) => toStoreError(err, 'catching up'));
  });

  return {
    client,
    transact<T>(fn: (tx: WriteTx) => T): Promise<T> {
      const refused = refusal();
      if (refused !== undefined) return Promise.reject(refused);
      return submit(fn);
    },
    async read<T>(fn: (tx: ReadTx) => T): Promise<T> {
      const refused = refusal();
      if (refused !== undefined) throw refused;
      // Transactions this process queued before the read come first (session order).
      await lastJob;
      try {
        await barrier();
      } catch (err) {
        throw toStoreError(err, 'reading');
      }
      return fn(copy.state.view);
    },
    version: () => copy.changeCount,
    healthy: () => refusal() === undefined && client.status === 'ready',
    stats: () => ({ ...stats }),
    onRemoteChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close(): Promise<void> {
      closing ??= (async () => {
        // Drain re-queues itself: wait until the lane stops growing.
        for (let seen = lane; ; seen = lane) {
          await seen;
          if (seen === lane) break;
        }
        logger.info?.(`redis store closing: ${stats.transactions} transactions in ${stats.commits} commits, ${stats.conflicts} lost races re-run, ${stats.remoteApplied} remote entries applied, ${stats.snapshots} snapshots`);
        await Promise.allSettled([client.quit(), subscriber.quit()]);
        client.disconnect();
        subscriber.disconnect();
      })();
      return closing;
    },
  };
}

