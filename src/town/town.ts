// The town: one object composing agents, tasks, backlog, messages, recovery
// and scaling over a Store. Each mutation is exactly one `store.transact`
// (atomic: it validates before writing, and a throw discards its writes);
// each read is one `store.read`. A long-poll is a loop of such atomic pops. Long-polling readers are woken only after the
// transaction that queued their message is durable, by this process or (shared store) another.
import type { ReadTx, Store } from '../store/store.js';
import { runHooked, type CommitHook } from '../store/commit-hook.js';
import { isoTime, type Clock } from '../clock.js';
import { resolveAgent, resolveMailbox } from './agent-lookup.js';
import { heartbeat, killAgent, listAgents, pruneAgents, restartAgent, spawnAgent, withAgentId } from './agents.js';
import type { AgentList, AgentResult, PruneResult, SpawnInput } from './agents.js';
import { addBacklog, assignAll, claimTask, listBacklog, removeBacklog } from './backlog.js';
import type { AssignAllResult, BacklogInput, BacklogList, RemovedTask } from './backlog.js';
import { createMessageWaiters, type MessageWaiters } from './message-waiters.js';
import { listInbox, popMessage, restoreMessage, sendMessage } from './messages.js';
import type { InboxPage, PoppedMessage, SendInput, SendResult } from './messages.js';
import type { PageRequest } from './pagination.js';
import { agentView, taskView, type Agent, type HeartbeatState, type Task } from './records.js';
import { orphanTasks, reclaim, recover } from './recovery.js';
import type { OrphanAction, OrphanResult, ReclaimInput, ReclaimResult, RecoverResult } from './recovery.js';
import { computeScaling, type ScalingReport } from './scaling.js';
import { assignTask, completeTask, failTask, listPendingTasks, listTasks, resolveTask, startTask } from './tasks.js';
import type { AssignedTask, TaskFilter, TaskList } from './tasks.js';
import { summarizeTown, type TownSummary } from './town-summary.js';
import { createWriteContext, type WriteContext } from './write-context.js';

export interface TownConfig {
  name: string;
  /** The town's directory (default: the working directory). */
  root?: string;
  /** The redacted Redis URL when the town is on Redis (Tinytown's `redis_url`). */
  redisUrl?: string | null;
  defaultCli: string;
  maxAgents: number;
  heartbeatTimeoutSecs: number;
}

export interface TownInfo {
  name: string;
  root: string;
  /** The redacted Redis URL when the town is on Redis, else null. */
  redis_url: string | null;
  default_cli: string;
  max_agents: number;
  heartbeat_timeout_secs: number;
}

export interface NextMessageOptions {
  /** How long to wait for a message when the mailbox is empty (0 = answer at once). */
  waitMs?: number;
  /** Ends the wait early (client gone, server shutting down). */
  signal?: AbortSignal;
}

export interface Town {
  info(): TownInfo;
  summary(): Promise<TownSummary>;
  scaling(): Promise<ScalingReport>;

  listAgents(page?: PageRequest): Promise<AgentList>;
  getAgent(ref: string): Promise<Agent>;
  /** `commit` joins the caller's idempotency record to this mutation's transaction. */
  spawnAgent(input: SpawnInput, commit?: CommitHook): Promise<AgentResult>;
  heartbeat(ref: string, state?: HeartbeatState | null): Promise<AgentResult>;
  killAgent(ref: string): Promise<AgentResult>;
  restartAgent(ref: string): Promise<AgentResult>;
  pruneAgents(all: boolean): Promise<PruneResult>;

  inbox(ref: string, page?: PageRequest): Promise<InboxPage>;
  /** Pop the next message; null when none came within the wait. */
  nextMessage(ref: string, options?: NextMessageOptions): Promise<PoppedMessage | null>;
  sendMessage(input: SendInput, commit?: CommitHook): Promise<SendResult>;

  assignTask(agentRef: string, description: string, commit?: CommitHook): Promise<AssignedTask>;
  listTasks(filter?: TaskFilter, page?: PageRequest): Promise<TaskList>;
  listPendingTasks(page?: PageRequest): Promise<TaskList>;
  getTask(id: string): Promise<Task>;
  startTask(id: string): Promise<Task>;
  completeTask(id: string, result: string): Promise<Task>;
  failTask(id: string, error: string): Promise<Task>;

  addBacklog(input: BacklogInput, commit?: CommitHook): Promise<Task>;
  listBacklog(page?: PageRequest): Promise<BacklogList>;
  claimTask(taskId: string, agentRef: string): Promise<AssignedTask>;
  assignAll(agentRef: string): Promise<AssignAllResult>;
  removeBacklog(taskId: string): Promise<RemovedTask>;

  recover(): Promise<RecoverResult>;
  reclaim(input: ReclaimInput): Promise<ReclaimResult>;
  orphanTasks(action: OrphanAction): Promise<OrphanResult>;

  /** Long-poll readers waiting right now. */
  waiting(): number;

  /** The town's clock (for modules built on the town, e.g. the CRS desk). */
  now(): number;
  /** Runs `fn` as one town mutation (one transaction; woken mailboxes notified once durable). */
  mutate<T>(fn: (w: WriteContext) => T): Promise<T>;
  /** Runs `fn` as one read. */
  view<T>(fn: (tx: ReadTx) => T): Promise<T>;
}

// A function, not an inline check: the signal can change across an await,
// which TypeScript's narrowing does not know.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

export interface TownDeps {
  store: Store;
  clock: Clock;
  config: TownConfig;
  /** Injected in tests; defaults to a registry bounded at 10,000 readers. */
  waiters?: MessageWaiters;
}

export function createTown(deps: TownDeps): Town {
  const { store, clock, config } = deps;
  const waiters = deps.waiters ?? createMessageWaiters();
  // A store shared by several processes (Redis) reports other processes' commits:
  // a message queued there wakes this process's readers too.
  store.onRemoteChange?.((changes) => {
    if (changes === 'reset') return waiters.notifyAll();
    for (const change of changes) {
      const to = change.collection === 'messages' ? (change.value as { to_agent?: unknown } | undefined)?.to_agent : undefined;
      if (typeof to === 'string') waiters.notify(to);
    }
  });

  // Not an async function: one promise and one microtask fewer per write.
  function write<T>(fn: (w: WriteContext) => T, commit?: CommitHook): Promise<T> {
    let woken: ReadonlySet<string> | null = null;
    return store
      .transact((tx) =>
        runHooked(tx, commit, () => {
          const w = createWriteContext(tx, clock.now());
          const value = fn(w);
          woken = w.woken;
          return value;
        }),
      )
      .then((result) => {
        if (woken !== null) for (const mailbox of woken) waiters.notify(mailbox);
        return result;
      });
  }

  // The whole-town counts (status, metrics, scaling: two of them public) scan
  // every record, so they are computed once per store version, not per request.
  // A cache hit still goes through `read`, which waits for what it shows to be durable.
  function perVersion<T>(compute: (tx: ReadTx) => T): () => Promise<T> {
    let cached: { version: number; value: T } | null = null;
    return () =>
      store.read((tx) => {
        const version = store.version();
        if (cached === null || cached.version !== version) cached = { version, value: compute(tx) };
        return cached.value;
      });
  }
  const townSummary = perVersion((tx) => summarizeTown(tx, config.name));
  const townScaling = perVersion((tx) => computeScaling(tx, config.name, config.maxAgents, 0));

  async function nextMessage(ref: string, options: NextMessageOptions = {}): Promise<PoppedMessage | null> {
    const { signal } = options;
    const waitMs = Math.max(0, options.waitMs ?? 0);
    const deadline = performance.now() + waitMs;
    const mailbox = (await store.read((tx) => resolveMailbox(tx, ref))).key;
    for (;;) {
      // A reader that has gone away must not take a message nobody will see.
      if (signal?.aborted === true) return null;
      // Register before looking, so a message queued in between still wakes us.
      const waiter = waitMs > 0 ? waiters.register(mailbox) : null;
      try {
        const popped = await write((w) => popMessage(w, ref));
        if (popped !== null) {
          // The reader may have gone while the pop was made durable: the
          // message goes back rather than to nobody.
          if (isAborted(signal)) {
            await write((w) => restoreMessage(w, popped.record));
            return null;
          }
          return popped.message;
        }
        const remaining = deadline - performance.now();
        if (waiter === null || remaining <= 0) return null;
        const outcome = await waiter.wait(remaining, signal);
        if (outcome !== 'notified') return null;
      } finally {
        waiter?.cancel();
      }
    }
  }

  return {
    info: () => ({
      name: config.name,
      root: config.root ?? process.cwd(),
      redis_url: config.redisUrl ?? null,
      default_cli: config.defaultCli,
      max_agents: config.maxAgents,
      heartbeat_timeout_secs: config.heartbeatTimeoutSecs,
    }),
    summary: townSummary,
    scaling: async () => ({ ...(await townScaling()), timestamp: isoTime(clock.now()) }),

    listAgents: (page) => store.read((tx) => listAgents(tx, page)),
    getAgent: (ref) => store.read((tx) => agentView(resolveAgent(tx, ref))),
    spawnAgent: (input, commit) => write((w) => withAgentId(spawnAgent(w, config.defaultCli, input, config.maxAgents)), commit),
    heartbeat: (ref, state) => write((w) => withAgentId(heartbeat(w, ref, state))),
    killAgent: (ref) => write((w) => withAgentId(killAgent(w, ref))),
    restartAgent: (ref) => write((w) => withAgentId(restartAgent(w, ref))),
    pruneAgents: (all) => write((w) => pruneAgents(w, all)),

    inbox: (ref, page) => store.read((tx) => listInbox(tx, ref, page)),
    nextMessage,
    sendMessage: (input, commit) => write((w) => sendMessage(w, input), commit),

    assignTask: (agentRef, description, commit) => write((w) => assignTask(w, agentRef, description), commit),
    listTasks: (filter, page) => store.read((tx) => listTasks(tx, filter, page)),
    listPendingTasks: (page) => store.read((tx) => listPendingTasks(tx, page)),
    getTask: (id) => store.read((tx) => taskView(resolveTask(tx, id))),
    startTask: (id) => write((w) => startTask(w, id)),
    completeTask: (id, result) => write((w) => completeTask(w, id, result)),
    failTask: (id, error) => write((w) => failTask(w, id, error)),

    addBacklog: (input, commit) => write((w) => addBacklog(w, input), commit),
    listBacklog: (page) => store.read((tx) => listBacklog(tx, page)),
    claimTask: (taskId, agentRef) => write((w) => claimTask(w, taskId, agentRef)),
    assignAll: (agentRef) => write((w) => assignAll(w, agentRef)),
    removeBacklog: (taskId) => write((w) => removeBacklog(w, taskId)),

    recover: () => write((w) => recover(w, config.heartbeatTimeoutSecs)),
    reclaim: (input) => write((w) => reclaim(w, input)),
    orphanTasks: (action) => write((w) => orphanTasks(w, action)),

    waiting: () => waiters.size(),

    now: () => clock.now(),
    mutate: (fn) => write(fn),
    view: (fn) => store.read(fn),
  };
}
