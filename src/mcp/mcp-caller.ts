// Who an MCP request acts as, and how it runs an operation: through the one
// `invoke` (authorize, validate, run, audit with transport "mcp"), with the
// options of the transport it arrived on (HTTP or stdio).
import type { Principal } from '../auth/principal.js';
import type { AnyOperation } from '../operations/operation.js';

export interface McpCaller {
  readonly principal: Principal;
  /** Runs an operation; throws what `invoke` throws (an OpError, or worse). */
  invoke(op: AnyOperation, input: Record<string, unknown>): Promise<unknown>;
}

/** The operation table by name; a missing one is a programmer mistake found at start-up. */
export function requireOperations(ops: ReadonlyMap<string, AnyOperation>, names: readonly string[]): void {
  const missing = names.filter((n) => !ops.has(n));
  if (missing.length > 0) throw new Error(`MCP needs operations that are not in the table: ${missing.join(', ')}`);
}
