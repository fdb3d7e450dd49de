// The text of one Redis log entry (a committed transaction's operations) and
// of the Redis snapshot (the whole state at one version).
//
//   log entry  [["p","<collection>","<id>",<value>],["d","<collection>","<id>"],...]
//   snapshot   {"version":N,"rows":[["<collection>","<id>",<value>],...]}
//              collections in COLLECTIONS order, records in insertion order
//
// Decoding validates the shape and deep-freezes values, as memory-state does
// for values written locally. A malformed text decodes to undefined; callers
// fail closed and report the version, never the contents (user data).
import { deepFreeze, type MemoryState, type StoreOp } from './memory-state.js';
import { captureSnapshot, forEachRow } from './state-capture.js';
import { COLLECTIONS, type Collection } from './store.js';

export function encodeOps(ops: readonly StoreOp[]): string {
  let json = '[';
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (i > 0) json += ',';
    const head = `"${op.collection}",${JSON.stringify(op.id)}`;
    json += op.kind === 'put' ? `["p",${head},${op.json ?? JSON.stringify(op.value)}]` : `["d",${head}]`;
  }
  return `${json}]`;
}

export function decodeOps(text: string): StoreOp[] | undefined {
  const parsed = parseJson(text);
  if (!Array.isArray(parsed)) return undefined;
  const ops: StoreOp[] = [];
  for (const raw of parsed) {
    if (!Array.isArray(raw)) return undefined;
    const [kind, collection, id, value] = raw as unknown[];
    if (!isCollection(collection) || typeof id !== 'string') return undefined;
    if (kind === 'p' && raw.length === 4) ops.push({ kind: 'put', collection, id, value: deepFreeze(value) });
    else if (kind === 'd' && raw.length === 3) ops.push({ kind: 'delete', collection, id });
    else return undefined;
  }
  return ops;
}

/** About this many characters per part of an encoded snapshot. */
const PART_CHARS = 1 << 20;

/**
 * The snapshot text of `state` as it is now, in parts whose concatenation is
 * the snapshot: captured at once, then encoded a slice at a time
 * (state-capture.ts), so a town of a million records never stops the event
 * loop for the seconds one JSON.stringify pass would take.
 */
export async function encodeSnapshotParts(version: number, state: MemoryState): Promise<Buffer[]> {
  const parts: Buffer[] = [Buffer.from(`{"version":${version},"rows":[`)];
  let chunk = '';
  let first = true;
  await forEachRow(captureSnapshot(version, state), (collection, id, value) => {
    chunk += `${first ? '' : ','}${JSON.stringify([collection, id, value])}`;
    first = false;
    if (chunk.length >= PART_CHARS) {
      parts.push(Buffer.from(chunk));
      chunk = '';
    }
  });
  parts.push(Buffer.from(`${chunk}]}`));
  return parts;
}

/** The snapshot as put operations that rebuild the state in order. */
export function decodeSnapshot(text: string): { version: number; ops: StoreOp[] } | undefined {
  const parsed = parseJson(text) as { version?: unknown; rows?: unknown } | undefined;
  if (typeof parsed !== 'object' || parsed === null || !Number.isSafeInteger(parsed.version) || !Array.isArray(parsed.rows)) return undefined;
  const ops: StoreOp[] = [];
  for (const row of parsed.rows as unknown[]) {
    if (!Array.isArray(row) || row.length !== 3) return undefined;
    const [collection, id, value] = row as unknown[];
    if (!isCollection(collection) || typeof id !== 'string') return undefined;
    ops.push({ kind: 'put', collection, id, value: deepFreeze(value) });
  }
  return { version: parsed.version as number, ops };
}

function isCollection(value: unknown): value is Collection {
  return typeof value === 'string' && (COLLECTIONS as readonly string[]).includes(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
