// The journal record format: encoding one committed transaction as one line,
// and scanning a journal file back into operations at open.
//
// A record is one line of UTF-8 text:
//
//   <checksum> <json>\n
//
//   checksum  the first 8 lowercase hex digits of sha256(<json> as UTF-8 bytes)
//   json      {"seq":N,"ops":[op,...]}
//             N    the transaction's sequence number: 1, 2, 3, ... without gaps,
//                  continuing across compactions (snapshot.json records the last
//                  N it contains, and replay skips records with seq <= that N)
//             op   ["p","<collection>","<id>",<value>]   put (insert or update)
//                  ["d","<collection>","<id>"]           delete
//             ops are applied in order; a delete followed by a put of the same
//             id moves the record to the end of its collection. ops may be
//             empty: the probe that finds the disk writable again after a
//             failed write appends such a record (journal-writer.ts).
//
// JSON.stringify escapes newlines inside strings, so a record never contains a
// raw "\n" and one line is exactly one transaction: replay applies a whole
// transaction or none of it.
//
// Safety: a last record without its newline is what a crash during an append
// leaves behind (never acknowledged, because acknowledgement waits for
// fdatasync of the whole record), so it is dropped. Any other bad record, a
// complete last one included, means the file was damaged after the fact (that
// record may have been acknowledged); guessing would silently lose or reorder
// transactions, so opening stops and names the file and byte offset.
import { createHash } from 'node:crypto';
import { freezeJson } from './freeze-json.js';
import type { StoreOp } from './memory-state.js';
import { StoreOpenError } from './store-errors.js';
import { COLLECTIONS, type Collection } from './store.js';

const NEWLINE = 0x0a;
const HEADER_BYTES = 9; // 8 hex digits and a space

/** One journal line for a transaction whose ops came from MemoryState.run (puts carry their JSON). */
export function encodeRecord(seq: number, ops: readonly StoreOp[]): string {
  let json = `{"seq":${seq},"ops":[`;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (i > 0) json += ',';
    const head = `"${op.collection}",${JSON.stringify(op.id)}`;
    json += op.kind === 'put' ? `["p",${head},${op.json ?? JSON.stringify(op.value)}]` : `["d",${head}]`;
  }
  json += ']}';
  return `${checksum(json)} ${json}\n`;
}

export function checksum(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 8);
}

export interface JournalScan {
  /** Sequence number of the last good record (0 when there is none). */
  lastSeq: number;
  /** Records applied through `onRecord` (seq greater than the snapshot's). */
  applied: number;
  /** Good records skipped because the snapshot already contains them. */
  stale: number;
  /** Length of the prefix made of whole good records; new appends start here. */
  validBytes: number;
  /** Set when a torn last record was dropped. */
  torn?: { offset: number; record: number; reason: string };
}

/**
 * Validate every record in `buf` and hand those after `afterSeq` to `onRecord`
 * in order. Throws StoreOpenError for corruption that is not a torn tail.
 */
export function scanJournal(
  buf: Buffer,
  afterSeq: number,
  file: string,
  onRecord: (ops: StoreOp[]) => void,
): JournalScan {
  const scan: JournalScan = { lastSeq: 0, applied: 0, stale: 0, validBytes: 0 };
  let prevSeq: number | undefined;
  let offset = 0;
  for (let record = 1; offset < buf.length; record++) {
    const nl = buf.indexOf(NEWLINE, offset);
    const end = nl === -1 ? buf.length : nl;
    const decoded = nl === -1 ? { error: 'incomplete record (no newline)' } : decodeLine(buf, offset, end);
    if ('error' in decoded) {
      // Only a record without its newline is torn: a write interrupted by a crash
      // never reaches the newline, and acknowledgement waits for the whole record.
      // A complete last record that fails its checksum was damaged after it was
      // written (and possibly acknowledged), like corruption anywhere else.
      if (nl === -1) {
        scan.torn = { offset, record, reason: decoded.error };
        return scan;
      }
      throw corrupt(file, offset, record, decoded.error);
    }
    const { seq, ops } = decoded;
    if (prevSeq !== undefined && seq !== prevSeq + 1 && !(prevSeq <= afterSeq && seq === afterSeq + 1)) {
      throw corrupt(file, offset, record, `sequence number ${seq} follows ${prevSeq}`);
    }
    if (seq <= afterSeq) {
      scan.stale++;
    } else {
      if (scan.applied === 0 && seq !== afterSeq + 1) {
        throw corrupt(file, offset, record, `sequence number ${seq} but the snapshot ends at ${afterSeq} (records are missing)`);
      }
      onRecord(ops);
      scan.applied++;
    }
    prevSeq = seq;
    scan.lastSeq = seq;
    offset = end + 1;
    scan.validBytes = offset;
  }
  return scan;
}

type Decoded = { seq: number; ops: StoreOp[] } | { error: string };

function decodeLine(buf: Buffer, start: number, end: number): Decoded {
  if (end - start <= HEADER_BYTES || buf[start + HEADER_BYTES - 1] !== 0x20) {
    return { error: 'malformed record header' };
  }
  const expected = buf.toString('latin1', start, start + HEADER_BYTES - 1);
  if (checksum(buf.subarray(start + HEADER_BYTES, end)) !== expected) {
    return { error: 'checksum mismatch' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8', start + HEADER_BYTES, end));
  } catch {
    return { error: 'unparsable JSON' };
  }
  const invalid = { error: 'invalid record structure' };
  if (typeof parsed !== 'object' || parsed === null) return invalid;
  const { seq, ops } = parsed as { seq?: unknown; ops?: unknown };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || !Array.isArray(ops)) return invalid;
  const out: StoreOp[] = [];
  for (const op of ops) {
    const decodedOp = decodeOp(op);
    if (decodedOp === undefined) return invalid;
    out.push(decodedOp);
  }
  return { seq, ops: out };
}

function decodeOp(op: unknown): StoreOp | undefined {
  if (!Array.isArray(op)) return undefined;
  const [kind, collection, id, value] = op as unknown[];
  if (!isCollection(collection) || typeof id !== 'string') return undefined;
  if (kind === 'p' && op.length === 4) return { kind: 'put', collection, id, value: freezeJson(value) };
  if (kind === 'd' && op.length === 3) return { kind: 'delete', collection, id };
  return undefined;
}

export function isCollection(value: unknown): value is Collection {
  return typeof value === 'string' && (COLLECTIONS as readonly string[]).includes(value);
}

function corrupt(file: string, offset: number, record: number, reason: string): StoreOpenError {
  return new StoreOpenError(
    `${file} is corrupt at byte offset ${offset} (record ${record}): ${reason}; restore from backup or move the file aside`,
  );
}
