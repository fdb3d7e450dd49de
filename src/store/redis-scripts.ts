// The Lua scripts that change a town's log. Each runs atomically in Redis, so
// "check the version, then append" cannot interleave with another replica.
// All keys a script touches are passed in KEYS and share the town's hash tag.

/**
 * KEYS: version, log. ARGV: expected version, ops JSON, changed channel,
 * entries to return on a conflict. Returns {1, new version} when appended;
 * {0, current version, entries after the expected version (at most ARGV[4])}
 * when another commit got there first, so the loser catches up without
 * another round trip.
 */
export const COMMIT_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current ~= tonumber(ARGV[1]) then
  if current < tonumber(ARGV[1]) then return {0, current, {}} end
  return {0, current, redis.call('XRANGE', KEYS[2], (tonumber(ARGV[1]) + 1) .. '-0', '+', 'COUNT', ARGV[4])}
end
local nextv = current + 1
redis.call('XADD', KEYS[2], nextv .. '-0', 'ops', ARGV[2])
redis.call('SET', KEYS[1], nextv)
redis.call('PUBLISH', ARGV[3], nextv)
return {1, nextv}
`;

/**
 * KEYS: snapshot, snapshot version, log, staging (the new snapshot, uploaded in
 * parts with APPEND). ARGV: version, entries to keep before it.
 * Moves the snapshot forward only (renaming the staging key over it), then
 * trims log entries older than the slack. Returns 1 when stored, 0 when a
 * newer snapshot was already there (the staging key is then dropped).
 */
export const SNAPSHOT_SCRIPT = `
local have = tonumber(redis.call('GET', KEYS[2]) or '0')
local v = tonumber(ARGV[1])
if have >= v then
  redis.call('DEL', KEYS[4])
  return 0
end
redis.call('RENAME', KEYS[4], KEYS[1])
redis.call('PERSIST', KEYS[1])
redis.call('SET', KEYS[2], v)
local keepFrom = v - tonumber(ARGV[2]) + 1
if keepFrom > 1 then redis.call('XTRIM', KEYS[3], 'MINID', keepFrom .. '-0') end
return 1
`;

/**
 * KEYS: counter. ARGV: window ms. Counts one failed authentication attempt.
 * Returns {count, milliseconds until the counter expires}.
 */
export const FAILURE_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`;

/**
 * KEYS: counter. Takes back one counted attempt (the authenticator counts a
 * slow attempt when it starts and withdraws it if it did not fail).
 * Returns the count left.
 */
export const WITHDRAW_SCRIPT = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 0 then return 0 end
return redis.call('DECR', KEYS[1])
`;
