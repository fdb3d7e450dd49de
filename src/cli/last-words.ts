// The process's last moments must not lose the audit lines the batch still
// holds (audit-batch.ts writes them at the end of the event-loop turn): an
// answer already sent has to be on record even if the process dies in the
// same turn.
//
// - 'exit' runs on every way out that still runs JavaScript: an uncaught
//   exception or an unhandled rejection (Node's default prints it, then emits
//   'exit' with code 1), process.exit(), the loop running dry. Listening to
//   'exit' changes none of those outcomes, unlike an 'uncaughtException'
//   handler, which would keep a broken process alive.
// - A second SIGTERM/SIGINT while a graceful stop drains would take the
//   signal's default action (death, no JavaScript): once armed, it flushes,
//   then the process dies of that same signal, as it would have.
// SIGKILL cannot be caught. process.stdout.write hands a chunk to a pipe or
// file at once unless stdout already holds a backlog (a slow reader), which
// the audit-backlog bound in main.ts keeps under 4 MiB.
export interface LastWords {
  /** After the first stop signal: a second one flushes and dies of it. */
  armForcedStop(): void;
  /** Removes every listener this installed. */
  dispose(): void;
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export function flushOnLastWords(flush: () => void): LastWords {
  const onExit = (): void => flush();
  const forced = (signal: NodeJS.Signals): void => {
    flush();
    dispose();
    // No listener left: the signal's default action applies again.
    process.kill(process.pid, signal);
  };
  let armed = false;
  function dispose(): void {
    process.off('exit', onExit);
    if (armed) for (const s of STOP_SIGNALS) process.off(s, forced);
    armed = false;
  }
  process.on('exit', onExit);
  return {
    armForcedStop() {
      if (armed) return;
      armed = true;
      for (const s of STOP_SIGNALS) process.on(s, forced);
    },
    dispose,
  };
}
