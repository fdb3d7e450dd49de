// Audit lines leave in one write per event-loop turn instead of one per
// event: every line of a turn (a group commit answers dozens of writes at
// once) is joined and handed to the sink from a setImmediate, which runs
// after the turn's I/O callbacks and before the next poll, so a line is out
// before the client that caused it can see its answer processed here.
//
// Nothing is dropped: `pendingBytes` joins the sink's own backlog in the
// audit-backlog bound (main.ts refuses operations past it), and `close`
// writes what is queued and makes every later line go out at once.
export interface AuditBatch {
  /** Queues one line (with its newline) for the end of this turn. */
  write(line: string): void;
  /** Characters queued this turn and not yet handed to the sink. */
  readonly pendingBytes: number;
  /** Hands what is queued to the sink now. */
  flush(): void;
  /** Flushes; later lines are written at once. */
  close(): void;
}

export function createAuditBatch(sink: (chunk: string) => void): AuditBatch {
  let pending = '';
  let scheduled: NodeJS.Immediate | null = null;
  let closed = false;

  function flush(): void {
    if (scheduled !== null) {
      clearImmediate(scheduled);
      scheduled = null;
    }
    if (pending === '') return;
    const chunk = pending;
    pending = '';
    sink(chunk);
  }

  return {
    write(line) {
      if (closed) return sink(line);
      pending += line;
      scheduled ??= setImmediate(flush);
    },
    get pendingBytes() {
      return pending.length;
    },
    flush,
    close() {
      closed = true;
      flush();
    },
  };
}
