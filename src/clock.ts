// Time is a dependency: production passes `systemClock`, tests pass a fake.
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** RFC 3339 UTC with milliseconds, the one timestamp format in our responses. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
