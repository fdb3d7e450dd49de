// Keeps alive one object of each kind whose shape V8 must not forget, so that
// a server that idles does not come back slower for the rest of its life.
//
// Why: V8 (11, in Node 20) describes objects by shapes ("maps") and links each
// shape to the next one a property store leads to. Those links, and the shapes
// inline caches remember, are weak: after a few full GCs with no live object of
// a shape (an idle server; V8's memory reducer runs such GCs), the shapes are
// dropped. The next object builds new ones, and two of Node's per-request
// paths then fall off their fast path for good:
// - process.nextTick builds each tick object with a literal whose keys are
//   symbols. Its feedback goes from "one shape" straight to "any shape" on
//   meeting a new one, and every function optimized after that builds its tick
//   objects in the runtime (Runtime_DefineKeyedOwnPropertyInLiteral).
// - ServerResponse's constructors store symbol-keyed fields. When the shapes
//   are dropped while V8 is still sizing new responses (its first seven), the
//   rebuilt shapes are dictionary ones: every later response is a hash table,
//   and every property access on it a lookup.
// Measured in the hot-path bench: a server that had answered six requests and
// then idled for ten seconds spent 16-20 µs of CPU per request against 13-15
// for its twin, for its whole life. One live object of each kind keeps its
// shape and, through each shape's link to the one before it, the whole chain.
// test/e2e/idle-shapes.test.ts replays such an idle stretch.
import { createHook } from 'node:async_hooks';

// Written, never read: being reachable is the whole job.
const kept: { tickObject: object | null; response: object | null } = { tickObject: null, response: null };

/** Call once, early; later calls do nothing. Costs one small object, kept. */
export function pinTickObjectShapes(): void {
  if (kept.tickObject !== null) return;
  // The init hook is the public way to see the tick object nextTick builds;
  // it is on only for this one call, so no request ever runs with a hook.
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && kept.tickObject === null) kept.tickObject = resource;
    },
  }).enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
}

/**
 * Call with every HTTP response: the latest one stays alive until the next
 * (with its request and socket), so an idle stretch always has one.
 */
export function keepResponseShape(res: object): void {
  kept.response = res;
}

function noop(): void {}
