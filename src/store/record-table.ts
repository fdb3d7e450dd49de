// One collection's committed records: id -> frozen value, in insertion order
// (an update keeps its place; a delete then a put moves the id to the end).
//
// Why not one Map: V8 grows a Map by rehashing every entry into a table twice
// the size, in one synchronous step. A Map.set at 2^20 entries took 80 ms on
// its own here, and the scale bench's /health probe waited 230 ms while a
// million-record town grew past it. So no Map here grows past a bounded size:
// - the records live in generations, Maps of at most GENERATION entries, new
//   ids going to the newest; reading them in turn gives insertion order, and
//   `capture` copies them as two arrays at once;
// - which generation holds an id is found in one of SHARDS locator Maps,
//   picked by a cheap hash of the id, so a lookup is two Map reads whatever
//   the size (a locator shard passes GENERATION entries only past 16 million
//   records).
// A generation that deletions empty is dropped, and one that shrinks to fit
// in a neighbour with it (half a generation) is merged into it, so the
// generations follow the live records, not every record ever written.
//
// Read it between changes (or take `capture()`), as the Map it replaces.
//
// `capture()` is the table as of one moment, read a generation at a time
// while writes go on: a write to a generation the capture has not taken yet
// takes it first (copy on write, one generation at most per write, ~15 ms
// for a full one), and generations created later are not part of it. So a
// snapshot of a million records never holds the event loop for the whole
// copy (about 75 ms in one step at 1M), only for one generation's.

/** Entries per generation: a growth step rehashes at most this many (about 20 ms here). */
export const GENERATION = 1 << 18;
const SHARDS = 64;

type Gen<V> = Map<string, V>;

/** One generation's ids and values, taken at once. */
export interface Chunk<V> {
  ids: string[];
  values: V[];
}

/** The table as of one moment (see `capture`). */
export interface TableCapture<V> {
  /** Records at that moment. */
  readonly count: number;
  /** The chunks in order, each taken when reached (or just before a write changed it). Read once. */
  chunks(): Generator<Chunk<V>>;
  /** The reader is done (or gave up): writes stop copying for it. */
  release(): void;
}

/** A capture in progress: the generations of its moment, and what has been taken of them (null: handed out). */
interface Frozen<V> {
  gens: Gen<V>[];
  at: Map<Gen<V>, number>;
  taken: (Chunk<V> | null | undefined)[];
}

function copyOf<V>(gen: Gen<V>): Chunk<V> {
  return { ids: Array.from(gen.keys()), values: Array.from(gen.values()) };
}

/** Which locator shard an id belongs to: its length and up to 12 of its characters (ids are UUIDs, names or counters). */
function shardOf(id: string): number {
  const n = id.length;
  let h = n;
  for (let i = n > 12 ? n - 12 : 0; i < n; i++) h = (h * 31 + id.charCodeAt(i)) | 0;
  return (h ^ (h >>> 7)) & (SHARDS - 1);
}

export class RecordTable<V = unknown> {
  private readonly gens: Gen<V>[] = [new Map()];
  private readonly locator: Map<string, Gen<V>>[] = Array.from({ length: SHARDS }, () => new Map());
  private count = 0;
  private frozen: Frozen<V> | null = null;

  /** `generation`: entries per generation (tests use a few). */
  constructor(private readonly generation = GENERATION) {}

  get size(): number {
    return this.count;
  }

  /** How many generations hold the records. */
  get generations(): number {
    return this.gens.length;
  }

  get(id: string): V | undefined {
    return this.locator[shardOf(id)]!.get(id)?.get(id);
  }

  has(id: string): boolean {
    return this.locator[shardOf(id)]!.has(id);
  }

  /** Stores `value` under `id`, returning the value it replaced (one lookup where get-then-set takes two). */
  put(id: string, value: V): V | undefined {
    const shard = this.locator[shardOf(id)]!;
    const gen = shard.get(id);
    if (gen !== undefined) {
      this.guard(gen);
      const old = gen.get(id);
      gen.set(id, value); // an update keeps its place
      return old;
    }
    return this.insert(id, value);
  }

  /**
   * Stores `value` under an `id` the table should not hold (a transaction saw
   * it absent, or its creator vouched for it: WriteTx.create), without a
   * lookup first: the locator's size after the set says whether the id was
   * new. If it was not, the record is updated in place, as put would do, and
   * the value it replaced is returned (else undefined).
   */
  insert(id: string, value: V): V | undefined {
    const shard = this.locator[shardOf(id)]!;
    const size = shard.size;
    let newest = this.gens[this.gens.length - 1]!;
    const grew = newest.size >= this.generation;
    if (grew) this.gens.push((newest = new Map()));
    shard.set(id, newest);
    if (shard.size === size) {
      if (grew) this.gens.pop();
      return this.updateFound(shard, id, value);
    }
    if (!grew) this.guard(newest);
    newest.set(id, value);
    this.count++;
    return undefined;
  }

  /** The rare end of `insert`: the id was there after all. Finds its generation again and updates it in place. */
  private updateFound(shard: Map<string, Gen<V>>, id: string, value: V): V | undefined {
    const gen = this.gens.find((g) => g.has(id))!;
    shard.set(id, gen);
    this.guard(gen);
    const old = gen.get(id);
    gen.set(id, value);
    return old;
  }

  /** Removes `id`, returning its value (undefined when there was none). */
  take(id: string): V | undefined {
    const shard = this.locator[shardOf(id)]!;
    const gen = shard.get(id);
    if (gen === undefined) return undefined;
    this.guard(gen);
    const old = gen.get(id);
    gen.delete(id);
    shard.delete(id);
    this.count--;
    this.tidy(gen);
    return old;
  }

  *keys(): Generator<string> {
    for (const gen of this.gens) yield* gen.keys();
  }

  *values(): Generator<V> {
    for (const gen of this.gens) yield* gen.values();
  }

  *entries(): Generator<[string, V]> {
    for (const gen of this.gens) yield* gen.entries();
  }

  [Symbol.iterator](): Generator<[string, V]> {
    return this.entries();
  }

  /**
   * The records as of now, to be read a generation at a time while writes go
   * on (see the top of this file). Starting is cheap (a list of generations).
   * One capture at a time: starting another takes what the earlier one has
   * not taken yet, at once, so that one still reads its own moment.
   */
  capture(): TableCapture<V> {
    if (this.frozen !== null) this.takeAll(this.frozen);
    const gens = this.gens.slice();
    const f: Frozen<V> = { gens, at: new Map(gens.map((gen, k) => [gen, k])), taken: new Array(gens.length).fill(undefined) };
    this.frozen = f;
    return {
      count: this.count,
      *chunks() {
        for (let k = 0; k < f.gens.length; k++) {
          const kept = f.taken[k];
          if (kept === null) throw new Error('capture chunks read twice');
          const chunk = kept ?? copyOf(f.gens[k]!);
          f.taken[k] = null;
          yield chunk;
        }
      },
      release: () => {
        if (this.frozen === f) this.frozen = null;
      },
    };
  }

  /** Before `gen` changes: a capture that has not taken it yet takes it now. */
  private guard(gen: Gen<V>): void {
    const f = this.frozen;
    if (f === null) return;
    const k = f.at.get(gen);
    if (k !== undefined && f.taken[k] === undefined) f.taken[k] = copyOf(gen);
  }

  private takeAll(f: Frozen<V>): void {
    for (let k = 0; k < f.gens.length; k++) if (f.taken[k] === undefined) f.taken[k] = copyOf(f.gens[k]!);
  }

  /** After a deletion in `gen`: drop it if empty, or merge it with a neighbour when both fit in half a generation. */
  private tidy(gen: Gen<V>): void {
    const { gens } = this;
    if (gens.length === 1) return;
    const at = gens.indexOf(gen);
    if (gen.size === 0) {
      gens.splice(at, 1);
      return;
    }
    const limit = this.generation / 2;
    const next = gens[at + 1];
    if (next !== undefined && gen.size + next.size <= limit) return this.merge(at, gen, next);
    const prev = gens[at - 1];
    if (prev !== undefined && prev.size + gen.size <= limit) this.merge(at - 1, prev, gen);
  }

  /** Moves `later` (at `at + 1`) to the end of `earlier` (at `at`), in order. */
  private merge(at: number, earlier: Gen<V>, later: Gen<V>): void {
    this.guard(earlier);
    this.guard(later);
    for (const [id, value] of later) {
      earlier.set(id, value);
      this.locator[shardOf(id)]!.set(id, earlier);
    }
    this.gens.splice(at + 1, 1);
  }
}
