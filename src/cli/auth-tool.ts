// `townhall-auth-tool`: create API keys (id + token + Argon2id hash), hash a
// token, or verify a token against a hash. `runAuthTool` takes argv and the
// three streams as plain functions and returns the exit code, so tests can run
// it in-process and bin/auth-tool.js stays a thin launcher.
//
// Exit status: 0 success, 1 verify mismatch or an internal failure, 2 usage
// (bad flag, bad value, no token on stdin, a hash that is not Argon2id PHC).
//
// Security: tokens are read from stdin, never from argv (visible in `ps` and
// shell history). Error messages are strings we wrote and never contain the
// token or the hash; library exceptions are not printed.
import { randomUUID } from 'node:crypto';
import { hashToken, parseArgon2idPhc, verifyToken } from '../auth/argon2-hash.js';
import { VERSION } from '../version.js';
import { COST_LIMITS, PROG, TOKEN_LENGTH, UsageError, parseAuthToolArgs } from './auth-tool-args.js';
import {
  formatKeyAdvice,
  formatKeyEnv,
  formatKeyJson,
  formatKeyText,
  formatScriptAdvice,
  formatWeakParamsWarning,
  type NewKey,
} from './auth-tool-output.js';
import { generateToken } from './random-token.js';
import { tokenWithSelector } from '../auth/token-selector.js';
import { StdinInputError, stripOneTrailingNewline } from './read-stdin.js';

export interface AuthToolIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** All of stdin as text. May reject with StdinInputError (too large, not UTF-8). */
  stdin: () => Promise<string>;
}

/** Upper bound on a token read from stdin, in bytes; the launcher enforces it while reading. */
export const MAX_STDIN_BYTES = 64 * 1024;

export const USAGE = `Usage: ${PROG} [options]                 create a new API key
       ${PROG} hash [cost options]      hash a token read from stdin
       ${PROG} verify <hash>            check a token on stdin against a hash
       ${PROG} verify --hash <hash>

Creating a key (no command) prints "Key ID:", "API Key:" and "Hash:" lines and
a tinytown.toml snippet on stdout; advice and curl examples go to stderr.
  --scopes a,b         scopes: town.read, town.write, agent.manage, admin
                       (default: admin, i.e. every scope)
  --token-length N     token length, ${TOKEN_LENGTH.min}-${TOKEN_LENGTH.max} characters of [A-Za-z0-9] (default ${TOKEN_LENGTH.default});
                       the first 8 are the key id's public selector, the rest random
  --env                print NAME=value lines (an env file) instead
  --env-prefix P       prefix of the server's names with --env (default TOWNHALL_);
                       the client's API_KEY_ID and API_TOKEN keep their names
  --json               print one JSON object (key_id, token, hash, scopes, ...)

Argon2id cost, for new keys and 'hash' (default m=19456, t=2, p=1):
  --memory-cost N      memory in KiB, at least 8 * parallelism, at most ${COST_LIMITS.memoryCost.max}
  --time-cost N        passes, ${COST_LIMITS.timeCost.min}-${COST_LIMITS.timeCost.max}
  --parallelism N      lanes, ${COST_LIMITS.parallelism.min}-${COST_LIMITS.parallelism.max}

  -h, --help           show this help
  -V, --version        show the version

'hash' and 'verify' read the token from stdin and strip one trailing newline.
Quote hashes in a shell: they contain '$'.
  printf '%s' "$API_TOKEN" | ${PROG} verify '$argon2id$v=19$m=...'

--env values are unquoted. That is right for an env file (node --env-file,
docker run --env-file), but a PHC hash contains '$': in a shell, quote it or
use the export pattern, which does not expand '$':
  $(${PROG} --env | grep TOWNHALL | sed 's/^/export /')
(Docker Compose expands '$' in env_file values; write '$$' there.)

Exit status: 0 success, 1 verify mismatch or internal error, 2 usage error.
`;

export async function runAuthTool(argv: string[], io: AuthToolIo): Promise<number> {
  try {
    const command = parseAuthToolArgs(argv);
    switch (command.kind) {
      case 'help':
        io.stdout(USAGE);
        return 0;
      case 'version':
        io.stdout(`${PROG} ${VERSION}\n`);
        return 0;
      case 'generate': {
        // The token begins with the id's public selector, so the server runs
        // Argon2 against this key's hash only (auth/token-selector.ts).
        const id = randomUUID();
        const token = tokenWithSelector(id, command.tokenLength, generateToken);
        const key: NewKey = {
          id,
          token,
          hash: await hashToken(token, command.params),
          scopes: command.scopes,
          params: command.params,
        };
        io.stderr(formatWeakParamsWarning(command.params));
        if (command.format === 'env') {
          io.stdout(formatKeyEnv(key, command.envPrefix));
          io.stderr(formatScriptAdvice());
        } else if (command.format === 'json') {
          io.stdout(formatKeyJson(key));
          io.stderr(formatScriptAdvice());
        } else {
          io.stdout(formatKeyText(key));
          io.stderr(formatKeyAdvice(key));
        }
        return 0;
      }
      case 'hash': {
        const token = await readToken(io);
        io.stderr(formatWeakParamsWarning(command.params));
        io.stdout(`${await hashToken(token, command.params)}\n`);
        return 0;
      }
      case 'verify': {
        // Check the hash before touching stdin, so bad usage never waits for input.
        const parsed = parseArgon2idPhc(command.phc);
        if (typeof parsed === 'string') throw new UsageError(`the hash ${parsed}`);
        // A pasted hash chooses its own cost; refuse ones that would pin the
        // machine (t=4294967295 never finishes) instead of trying.
        if (
          parsed.memoryCost > COST_LIMITS.memoryCost.max ||
          parsed.timeCost > COST_LIMITS.timeCost.max ||
          parsed.parallelism > COST_LIMITS.parallelism.max
        ) {
          throw new UsageError(
            `the hash's cost is beyond what this tool runs (m <= ${COST_LIMITS.memoryCost.max}, ` +
              `t <= ${COST_LIMITS.timeCost.max}, p <= ${COST_LIMITS.parallelism.max})`,
          );
        }
        const token = await readToken(io);
        if (await verifyToken(command.phc, token)) {
          io.stdout('OK\n');
          return 0;
        }
        io.stderr(`${PROG}: the token does not match the hash\n`);
        return 1;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${PROG}: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof StdinInputError) {
      io.stderr(`${PROG}: could not read the token: ${err.message}\n`);
      return 2;
    }
    // A library failure (argon2 out of memory, ...): its message is not ours
    // to print, and could in principle carry input.
    io.stderr(`${PROG}: internal error (${err instanceof Error ? err.name : 'unknown'}); nothing was written to stdout\n`);
    return 1;
  }
}

async function readToken(io: AuthToolIo): Promise<string> {
  const raw = await io.stdin();
  if (Buffer.byteLength(raw, 'utf8') > MAX_STDIN_BYTES) {
    throw new StdinInputError(`stdin is larger than ${MAX_STDIN_BYTES} bytes`);
  }
  const token = stripOneTrailingNewline(raw);
  if (token === '') {
    throw new UsageError("no token on stdin (pipe it in, e.g. printf '%s' \"$API_TOKEN\" | " + `${PROG} hash)`);
  }
  return token;
}
