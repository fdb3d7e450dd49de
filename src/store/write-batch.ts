// A batch of journal lines that one flush writes together (group commit), and
// the promise every transaction in it waits on.

export interface Batch {
  lines: string[];
  done: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

export function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting (a failure rejects the next, still empty, batch too); the failure is reported through later calls instead.
  done.catch(() => {});
  return { lines: [], done, resolve, reject };
}
