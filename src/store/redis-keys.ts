// The Redis key names of one town, and the redaction of a Redis URL.
//
// Every key of a town carries the hash tag `{<town>}`, so Redis Cluster keeps
// them in one slot (the commit script touches several at once), and the
// prefix plus town name lets several towns share one Redis.
//
// Safety: a Redis URL may hold a password; only `redactRedisUrl` output may
// reach a log line, an error message or a response.

export interface TownKeys {
  /** The town's current log version (integer string; absent = 0). */
  version: string;
  /** Stream of committed transactions, entry id `<version>-0`. */
  log: string;
  /** JSON of the whole state at some version (see redis-snapshot.ts). */
  snapshot: string;
  /** Prefix of a snapshot being uploaded in parts (one key per upload, with a TTL), renamed to `snapshot` when complete. */
  snapshotStaging: string;
  /** The version `snapshot` holds, so the snapshot script need not parse it. */
  snapshotVersion: string;
  /** Pub/sub channel announcing a new version (payload: the version). */
  changed: string;
  /** Pub/sub channel announcing an address blocked by the failure limiter. */
  blocked: string;
  /** Prefix of the failed-authentication counters, one per client address. */
  authFailures: string;
}

const PREFIX = /^[A-Za-z0-9._:-]{1,64}$/;

/** Throws a TypeError naming what is wrong; callers turn it into a config error. */
export function townKeys(keyPrefix: string, town: string): TownKeys {
  if (!PREFIX.test(keyPrefix)) throw new TypeError('key_prefix must be 1-64 of A-Z a-z 0-9 . _ : -');
  if (town === '' || /[{}]/.test(town)) throw new TypeError('the town name must be non-empty and contain no { or } to be used in Redis keys');
  const base = `${keyPrefix}:{${town}}:`;
  return {
    version: `${base}version`,
    log: `${base}log`,
    snapshot: `${base}snapshot`,
    snapshotVersion: `${base}snapshot-version`,
    snapshotStaging: `${base}snapshot-staging:`,
    changed: `${base}changed`,
    blocked: `${base}blocked`,
    authFailures: `${base}authfail:`,
  };
}

/** The URL with any password replaced by `****`; unparseable input becomes a fixed placeholder. */
export function redactRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '<unparseable redis url>';
  }
  if (parsed.password !== '') parsed.password = '****';
  return parsed.toString();
}

/** Refuses anything but redis:// and rediss:// with a host; the message never contains the URL. */
export function checkRedisUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a valid URL (expected redis://[user:password@]host:port[/db] or rediss://...)';
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') return 'must start with redis:// or rediss://';
  if (parsed.hostname === '') return 'must name a host';
  return null;
}
