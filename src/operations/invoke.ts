// The one way any transport runs an operation:
//   authorize -> validate the input (once, here) -> idempotency (inside the
//   operation's own store transaction) -> run -> audit with the operation's name.
// Transports authenticate (credentials are theirs), assemble the input from
// wherever they carry it, and map the `OpError` codes this throws to their own
// shape. Nothing here knows HTTP or MCP.
import { performance } from 'node:perf_hooks';
import type { AuditEvent, AuditLogger, AuditResult } from '../audit/audit-logger.js';
import type { Principal } from '../auth/principal.js';
import { hasScope } from '../auth/scopes.js';
import { DENIAL_CODES, OpError, invalidInput } from '../errors.js';
import type { Idempotency } from './idempotency.js';
import { Replay, replayed } from './idempotency.js';
import type { AnyOperation, OperationContext, Transport } from './operation.js';
import { validate, withoutNulls } from './schema.js';

export interface InvokeOptions {
  transport: Transport;
  requestId: string;
  /** The client's address, for the audit line. */
  remoteAddr: string;
  idempotencyKey?: string | undefined;
  /** Makes the cancellation signal, only if the operation asks for it. */
  signal?: () => AbortSignal;
  /** How the request shows on the audit line (HTTP: its method and path; MCP: POST /mcp). */
  method: string;
  path: string;
  /**
   * The status the transport answered with, asked when the audit line is
   * written (a transport may already have answered, e.g. with a timeout).
   */
  statusOf(error: unknown, output?: unknown): number;
  /** Set when the transport already ended the exchange: nothing may run, and the audit says how it ended. */
  ending?: () => 'timeout' | 'aborted' | undefined;
  /** Extra fields for the audit line, from the transport: its client's request id, how it authenticated, the client certificate. */
  auditExtras?: Readonly<Pick<AuditEvent, 'clientRequestId' | 'auth' | 'clientCert'>>;
}

export interface Invocation {
  output: unknown;
  /** The output was an earlier answer to the same idempotency key. */
  replayed: boolean;
}

export interface Invoker {
  /** Throws `scope.denied` unless the principal may run the operation (transports call it early, before reading a body). */
  authorize(principal: Principal, op: AnyOperation): void;
  invoke(principal: Principal, op: AnyOperation, input: unknown, options: InvokeOptions): Promise<Invocation>;
  /**
   * `invoke`, answered synchronously when nothing in it waits (no idempotency
   * key, an operation whose `run` returns a value): the read hot path then
   * costs no promise. Throws synchronously what `invoke` would reject with.
   */
  invokeNow(principal: Principal, op: AnyOperation, input: unknown, options: InvokeOptions): Invocation | Promise<Invocation>;
  /** Audits a request refused by the transport before it could invoke (a bad body, say). */
  auditRefusal(principal: Principal | null, op: AnyOperation | null, error: unknown, options: InvokeOptions, started: number, reason?: string): void;
}

export interface InvokerDeps {
  audit: AuditLogger;
  idempotency: Idempotency;
}

const NEVER_ABORTED = new AbortController().signal;
const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', scopes: Object.freeze([]) });

// The signal is asked of `options` only when an operation reads it (long-polls):
// most requests never need one, and `options` may be a transport's own object.
class Context implements OperationContext {
  constructor(
    readonly principal: Principal,
    readonly commit: OperationContext['commit'],
    private readonly options: InvokeOptions,
  ) {}

  get requestId(): string {
    return this.options.requestId;
  }

  get transport(): Transport {
    return this.options.transport;
  }

  get signal(): AbortSignal {
    return this.options.signal === undefined ? NEVER_ABORTED : this.options.signal();
  }
}

function resultOf(error: unknown): AuditResult {
  if (error === undefined) return 'success';
  return error instanceof OpError && DENIAL_CODES.has(error.code) ? 'denied' : 'error';
}

export function createInvoker(deps: InvokerDeps): Invoker {
  function authorize(principal: Principal, op: AnyOperation): void {
    if (op.scope !== 'public' && !hasScope(principal.scopes, op.scope)) {
      throw new OpError('scope.denied', `This operation requires the "${op.scope}" scope.`, { required_scope: op.scope });
    }
  }

  function audit(principal: Principal | null, op: AnyOperation | null, error: unknown, output: unknown, options: InvokeOptions, started: number, reason?: string): void {
    const status = options.statusOf(error, output);
    const ending = options.ending?.();
    const result: AuditResult = ending ?? (error === undefined && status >= 400 ? 'error' : resultOf(error));
    // Every mutation is recorded, and every refusal (an authentication failure
    // answered 503 too: its reason says why); successful reads are not.
    // A request that named no operation counts as a mutation by its method.
    if (result !== 'denied' && reason === undefined && !(op === null ? MUTATING_METHODS.has(options.method) : op.mutates)) return;
    const who = principal ?? ANONYMOUS;
    // Built field by field, not with spreads: one object per audited request, on every write.
    const event: AuditEvent = {
      requestId: options.requestId,
      principal: who.id,
      scopes: who.scopes,
      method: options.method,
      path: options.path,
      status,
      durationMs: performance.now() - started,
      remoteAddr: options.remoteAddr,
      transport: options.transport,
      result,
    };
    if (op !== null) event.operation = op.name;
    if (reason !== undefined) event.reason = reason;
    else if (error instanceof OpError && error.code === 'scope.denied') event.reason = 'insufficient_scope';
    const extras = options.auditExtras;
    if (extras !== undefined) {
      if (extras.clientRequestId !== undefined) event.clientRequestId = extras.clientRequestId;
      if (extras.auth !== undefined) event.auth = extras.auth;
      if (extras.clientCert !== undefined) event.clientCert = extras.clientCert;
    }
    deps.audit.log(event);
  }

  function invokeNow(principal: Principal, op: AnyOperation, rawInput: unknown, options: InvokeOptions): Invocation | Promise<Invocation> {
    const started = performance.now();
    let out: unknown;
    try {
      authorize(principal, op);
      const problems = validate(op.input, rawInput ?? {});
      if (problems.length > 0) throw invalidInput(problems);
      const input = withoutNulls(rawInput);
      if (options.ending?.() !== undefined) throw new OpError('request.timeout', 'The request ended before the operation ran.');
      const key = op.idempotent === true ? options.idempotencyKey : undefined;
      if (key !== undefined) return invokeIdempotent(principal, op, input, key, options, started);
      out = op.run(new Context(principal, undefined, options), input as never);
    } catch (err) {
      audit(principal, op, err, undefined, options, started);
      throw err;
    }
    if (!(out instanceof Promise)) {
      audit(principal, op, undefined, out, options, started);
      return { output: out, replayed: false };
    }
    return out.then(
      (output: unknown) => {
        audit(principal, op, undefined, output, options, started);
        return { output, replayed: false };
      },
      (err: unknown) => {
        audit(principal, op, err, undefined, options, started);
        throw err;
      },
    );
  }

  async function invokeIdempotent(principal: Principal, op: AnyOperation, input: unknown, key: string, options: InvokeOptions, started: number): Promise<Invocation> {
    let error: unknown;
    let result: Invocation | undefined;
    try {
      const call = deps.idempotency.begin(principal.id, op.name, key, input);
      const ctx = new Context(principal, call.hook, options);
      let output: unknown;
      try {
        output = await op.run(ctx, input as never);
      } catch (err) {
        if (err instanceof Replay) return (result = { output: replayed(err.stored), replayed: true });
        await call.fail(err);
        throw err;
      }
      await call.settle(output);
      return (result = { output, replayed: false });
    } catch (err) {
      error = err;
      throw err;
    } finally {
      audit(principal, op, error, result?.output, options, started);
    }
  }

  return {
    authorize,
    invoke: async (principal, op, input, options) => invokeNow(principal, op, input, options),
    invokeNow,
    auditRefusal(principal, op, error, options, started, reason) {
      audit(principal, op, error ?? new OpError('server.internal', 'refused'), undefined, options, started, reason);
    },
  };
}
