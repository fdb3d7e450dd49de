#!/usr/bin/env node
// Thin launcher for townhall-auth-tool; the CLI is src/cli/auth-tool.ts,
// compiled to dist/ by `npx tsc -p tsconfig.json`.
import { MAX_STDIN_BYTES, runAuthTool } from '../dist/src/cli/auth-tool.js';
import { readStdin } from '../dist/src/cli/read-stdin.js';

const code = await runAuthTool(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  stdin: () => {
    if (process.stdin.isTTY) process.stderr.write('Reading the token from stdin (end with Enter, then Ctrl-D)...\n');
    return readStdin(process.stdin, MAX_STDIN_BYTES);
  },
});
process.exitCode = code;
