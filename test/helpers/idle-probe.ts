// Loaded with `--import` into a node process started with
// --allow-natives-syntax --expose-gc, to see what an idle stretch does to the
// shapes ("maps") V8 keeps for Node's per-request objects (src/v8-shapes.ts).
//
// First SIGUSR2: what an idle server goes through. process.nextTick is used
// until V8 has feedback for it, several full GCs run with nothing in flight,
// then nextTick runs once more in the interpreter. V8's description of
// nextTick (its feedback included) is printed on stdout between
// `tick-feedback-begin` and `tick-feedback-end`, then `idle-done` on stderr.
// stdout must be a file: V8 writes that long print there directly, and a full
// pipe would cut it short.
//
// Every HTTP response that finishes after that is checked for fast (not
// dictionary-mode) properties, with its request and socket, without keeping
// them. The second SIGUSR2 prints
// `responses fast=N slow=M` on stderr.
import dc from 'node:diagnostics_channel';
import { writeSync } from 'node:fs';

const debugPrint = new Function('f', '%DebugPrint(f)') as (f: unknown) => void;
const deoptimize = new Function('f', '%DeoptimizeFunction(f)') as (f: unknown) => void;
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: unknown) => boolean;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('idle-probe needs --expose-gc');
const noop = (): void => {};
// Called from a function of its own, which V8 optimizes with nextTick inlined, as Node's own callers are.
function tick(n: number): void {
  process.nextTick(noop, n);
}
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let counting = false;
let fast = 0;
let slow = 0;
dc.subscribe('http.server.response.finish', (message) => {
  if (!counting) return;
  // The response, and the request and socket it holds: all three are made per request or connection.
  const { response } = message as { response: { req?: { socket?: unknown } } };
  if (hasFastProperties(response) && hasFastProperties(response.req) && hasFastProperties(response.req?.socket)) fast++;
  else slow++;
});

async function idle(): Promise<void> {
  for (let i = 0; i < 50; i++) {
    for (let j = 0; j < 1000; j++) tick(j);
    await turn();
  }
  for (let i = 0; i < 10; i++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  // Run the literal in the interpreter, whose runtime call is what updates the feedback (optimized
  // code would build the object inline and leave the feedback as it was).
  deoptimize(process.nextTick);
  process.nextTick(noop);
  await turn();
  writeSync(1, '\ntick-feedback-begin\n');
  debugPrint(process.nextTick);
  writeSync(1, '\ntick-feedback-end\n');
  counting = true;
  writeSync(2, 'idle-done\n');
}

process.on('SIGUSR2', () => {
  if (!counting) void idle();
  else writeSync(2, `responses fast=${fast} slow=${slow}\n`);
});
