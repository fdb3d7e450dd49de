// Child process for the audit-on-crash test: the real `townhall` command, with
// one fault injected. Once a response with status FAULT_STATUS (argv[2]) has
// been handed to the socket, the process dies in the same event-loop turn, by
// the way named in argv[3]: `throw` (an uncaught exception), `reject` (an
// unhandled rejection), `exit` (process.exit) or `sigterm-twice` (a stop
// signal, and a second one while the first drains). The rest of argv is the
// command line of `townhall`.
import { ServerResponse } from 'node:http';
import { runTownhall } from '../../src/cli/townhall.js';

const [faultStatus, how, ...argv] = process.argv.slice(2);
const end = ServerResponse.prototype.end;
ServerResponse.prototype.end = function (this: ServerResponse, ...args: unknown[]) {
  const result = (end as (...a: unknown[]) => ServerResponse).apply(this, args);
  if (String(this.statusCode) === faultStatus) {
    // nextTick: after the pipeline's synchronous finish, before any setImmediate.
    process.nextTick(() => {
      if (how === 'reject') void Promise.reject(new Error('injected rejection after an acknowledged write'));
      else if (how === 'exit') process.exit(3);
      else if (how === 'sigterm-twice') {
        // emit runs the listeners at once, as a signal in this same turn would.
        process.emit('SIGTERM', 'SIGTERM');
        process.emit('SIGTERM', 'SIGTERM');
      }
      else throw new Error('injected crash after an acknowledged write');
    });
  }
  return result;
} as typeof ServerResponse.prototype.end;

process.exitCode = await runTownhall(argv);
