// Shared set-up for the town unit tests: a memory store, a fake clock and a
// town over them, plus helpers to assert on problems and stored records.
import assert from 'node:assert/strict';
import { OpError, type ErrorCode } from '../../src/errors.js';
import type { Collection, Store } from '../../src/store/store.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createTown, type Town, type TownConfig } from '../../src/town/town.js';

export const T0 = Date.parse('2025-01-01T00:00:00.000Z');

export interface FakeClock {
  now(): number;
  advance(ms: number): void;
}

export function fakeClock(start = T0): FakeClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

export interface Fixture {
  store: Store;
  clock: FakeClock;
  town: Town;
}

export function makeTown(config: Partial<TownConfig> = {}): Fixture {
  const store = createMemoryStore();
  const clock = fakeClock();
  const town = createTown({
    store,
    clock,
    config: { name: 'testtown', defaultCli: 'claude', maxAgents: 10, heartbeatTimeoutSecs: 120, ...config },
  });
  return { store, clock, town };
}

/** Await `promise` and check it failed with `code` (and, if given, `current_state`). */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, currentState?: string): Promise<OpError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof OpError, `expected OpError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (currentState !== undefined) assert.equal(caught.extras.current_state, currentState);
  return caught;
}

export function stored<T>(store: Store, collection: Collection, id: string): Promise<T | undefined> {
  return store.read((tx) => tx.get<T>(collection, id));
}

export function all<T>(store: Store, collection: Collection): Promise<T[]> {
  return store.read((tx) => tx.list<T>(collection));
}

/** Put an agent in a state no API call sets directly (`error`, `cold`). */
export async function forceAgentState(store: Store, name: string, state: string): Promise<void> {
  await store.transact((tx) => {
    const agent = tx.list<{ id: string; name: string }>('agents').find((a) => a.name === name);
    assert.ok(agent, `no agent ${name}`);
    tx.put('agents', agent.id, { ...agent, state });
  });
}

/** Every record of every town collection, to prove an operation changed nothing. */
export function snapshot(store: Store): Promise<Record<string, unknown[]>> {
  return store.read((tx) => ({
    agents: tx.list('agents'),
    tasks: tx.list('tasks'),
    messages: tx.list('messages'),
    meta: tx.list('meta'),
  }));
}
