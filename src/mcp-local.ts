// `townhall mcp-stdio` without --url: opens the town's store in this process
// and serves MCP on stdin/stdout as the local owner (principal `local`,
// admin). Like main.ts, it is a wiring module: store, town, operations,
// invoke and the MCP dispatcher. Audit lines go to the given sink (stderr:
// stdout carries the protocol). If a server holds the store's lock, opening
// fails with `StoreLockedError` so the CLI can say to use --url.
import type { Readable, Writable } from 'node:stream';
import { createAuditLogger } from './audit/audit-logger.js';
import { createServerLogger } from './audit/server-logger.js';
import type { Principal } from './auth/principal.js';
import type { Clock } from './clock.js';
import type { Config } from './config/config.js';
import { createMcpDispatcher } from './mcp/mcp-dispatcher.js';
import { serveStdio } from './mcp/stdio-server.js';
import { createIdempotency } from './operations/idempotency.js';
import { createInvoker } from './operations/invoke.js';
import { townOperations } from './operations/town-operations.js';
import { openJournalStore, StoreOpenError } from './store/journal-store.js';
import { createTown } from './town/town.js';
import { VERSION } from './version.js';

const LOCAL: Principal = Object.freeze({ id: 'local', scopes: Object.freeze(['admin'] as const) });
const MAX_BATCH = 32;

/** The store is held by another process (a running server). */
export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError';
}

export interface LocalMcpIo {
  input: Readable;
  output: Writable;
  audit: (line: string) => void;
  log: (line: string) => void;
  /** Aborted to stop (a signal); long-polls end. */
  stop: AbortSignal;
}

export async function serveLocalMcp(config: Config, io: LocalMcpIo, clock: Clock): Promise<void> {
  const logger = createServerLogger(config.log.format, config.verbose, io.log, clock);
  let store;
  try {
    store = await openJournalStore({ dir: config.store.path, durability: config.store.durability, compactAfterBytes: config.store.compactAfterBytes, logger });
  } catch (err) {
    // The lock's own message is "another townhall (pid N) is using DIR; ...".
    if (err instanceof StoreOpenError && /^another townhall \(pid \d+\) is using /.test(err.message)) throw new StoreLockedError(err.message.split(';')[0]!);
    throw err;
  }
  try {
    const startedAt = clock.now();
    const town = createTown({ store, clock, config: config.town });
    const operations = townOperations(town, { version: VERSION, authMode: 'none', uptimeSecs: () => Math.floor((clock.now() - startedAt) / 1000) });
    const invoker = createInvoker({ audit: createAuditLogger(config.log.format, io.audit, clock), idempotency: createIdempotency(store, clock) });
    await serveStdio({
      dispatcher: createMcpDispatcher({ operations, version: VERSION, logger }),
      invoker,
      principal: LOCAL,
      input: io.input,
      output: io.output,
      maxMessageBytes: config.maxBodyBytes,
      maxBatch: MAX_BATCH,
      signal: io.stop,
    });
  } finally {
    await store.close();
  }
}
