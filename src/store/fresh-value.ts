// Reads a remote value "fresh": the result comes from a request sent after
// the caller asked, so it reflects everything that happened before the call
// (the Redis store's read barrier relies on this for read-your-writes).
//
// Callers arriving while a request is in flight cannot use it (it may have
// been sent before they asked); they all share the next one instead, so any
// number of concurrent readers costs at most two requests in flight.

export function createFreshValue<T>(fetch: () => Promise<T>): () => Promise<T> {
  let inflight: Promise<T> | null = null;
  let next: Promise<T> | null = null;

  function fresh(): Promise<T> {
    if (inflight === null) {
      inflight = fetch().finally(() => {
        inflight = null;
      });
      return inflight;
    }
    next ??= inflight
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        next = null;
        return fresh();
      });
    return next;
  }

  return fresh;
}
