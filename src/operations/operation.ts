// What an operation is: one thing a caller can do to the town, declared once
// with its name, scope, whether it mutates, its input and output schemas and a
// `run` that knows nothing of any transport. The HTTP binding, the MCP tools,
// /openapi.json and the audit log all read these declarations.
import type { Principal } from '../auth/principal.js';
import type { RouteAccess } from '../auth/scopes.js';
import type { ErrorCode } from '../errors.js';
import type { CommitHook } from '../store/commit-hook.js';
import type { Infer, ObjectSchema, Schema } from './schema.js';

export type Transport = 'http' | 'mcp' | 'local';

export interface OperationContext {
  readonly principal: Principal;
  readonly requestId: string;
  readonly transport: Transport;
  /** Aborted when the caller goes away or the server shuts down (long-polls use it). */
  readonly signal: AbortSignal;
  /**
   * To be passed to the one town mutation the operation makes, so that
   * idempotency joins its transaction (undefined when not needed).
   */
  readonly commit: CommitHook | undefined;
}

/** Everything about an operation but its `run`. */
export interface OperationMeta<I extends ObjectSchema = ObjectSchema, O extends Schema = Schema> {
  /** Dotted name, e.g. `agent.spawn`: the MCP tool name, the audit `operation` field, the OpenAPI operationId's source. */
  readonly name: string;
  /** A short human title (MCP `title`, OpenAPI `summary`). */
  readonly summary: string;
  readonly description?: string;
  /** The scope the caller needs, or `public` (no authentication). */
  readonly scope: RouteAccess;
  /** Changes the town: audited on success too, and never answered from a cache. */
  readonly mutates: boolean;
  /** Removes or stops something (MCP `destructiveHint`). */
  readonly destructive?: boolean;
  /** Creates something and honours an idempotency key (the run must pass `ctx.commit` on). */
  readonly idempotent?: boolean;
  /** Repeating it with the same input has no further effect (MCP `idempotentHint`). */
  readonly repeatable?: boolean;
  /** Waits for something to happen: not cut by the request timeout. */
  readonly longPoll?: boolean;
  readonly input: I;
  readonly output: O;
  /** Error codes this operation may end with besides the generic ones (for the documents). */
  readonly errors?: readonly ErrorCode[];
}

export interface OperationDef<I extends ObjectSchema, O extends Schema> extends OperationMeta<I, O> {
  // NoInfer: the schemas alone fix the input type.
  // The output is checked against `output` by a test over every operation, not by the
  // compiler: comparing deep inferred types per operation exhausts its depth budget.
  run(ctx: OperationContext, input: NoInfer<Infer<I>>): unknown;
}

/** An operation whose schemas' types have been forgotten (what tables hold); `invoke` validates its input. */
export interface AnyOperation extends OperationMeta {
  run(ctx: OperationContext, input: never): unknown;
}

/** Declares an operation; the input and output types are inferred from its schemas. */
export function defineOperation<const I extends ObjectSchema, const O extends Schema>(def: OperationDef<I, O>): AnyOperation {
  return def as unknown as AnyOperation;
}

/** The operation table as a lookup, refusing duplicates at start-up. */
export function indexOperations(ops: readonly AnyOperation[]): ReadonlyMap<string, AnyOperation> {
  const byName = new Map<string, AnyOperation>();
  for (const op of ops) {
    if (byName.has(op.name)) throw new Error(`operation declared twice: ${op.name}`);
    if (op.input.type !== 'object') throw new Error(`operation ${op.name}: input must be an object schema`);
    byName.set(op.name, op);
  }
  return byName;
}
