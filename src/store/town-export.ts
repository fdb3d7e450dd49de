// The portable form of a town, for moving it between stores (journal <->
// Redis): JSON Lines, one record per line, in collection and insertion order,
// between a header and a trailer so a truncated file is refused.
//
//   {"format":"townhall-export","version":1}
//   ["<collection>","<id>",<value>]          one line per record
//   {"end":true,"rows":N}
//
// Import refuses a store that already holds records (it would mix two towns)
// and writes in transactions of IMPORT_BATCH records, in file order, so the
// imported store lists everything in the order the exporting store did.
import { COLLECTIONS, type Collection, type Store } from './store.js';

const HEADER = '{"format":"townhall-export","version":1}';
const TRAILER = /^\{"end":true,"rows":(\d+)\}$/;
export const IMPORT_BATCH = 500;

export class TownImportError extends Error {
  override readonly name = 'TownImportError';
}

/** Writes the whole town, as one consistent read, line by line; returns the record count. */
export async function exportTown(store: Store, write: (line: string) => void): Promise<number> {
  const rows = await store.read((tx) =>
    COLLECTIONS.flatMap((c) => {
      const ids = tx.ids(c);
      return tx.list(c).map((value, i) => JSON.stringify([c, ids[i], value]));
    }),
  );
  write(`${HEADER}\n`);
  for (const row of rows) write(`${row}\n`);
  write(`{"end":true,"rows":${rows.length}}\n`);
  return rows.length;
}

/** Parses an export and writes it into an empty store; returns the record count. */
export async function importTown(store: Store, text: string): Promise<number> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== HEADER) throw new TownImportError('line 1 is not a townhall-export version 1 header');
  const trailer = TRAILER.exec(lines.at(-1) ?? '');
  if (lines.length < 2 || trailer === null) throw new TownImportError('the last line is not the export trailer: the file is truncated');
  const rows: [Collection, string, unknown][] = [];
  for (let i = 1; i < lines.length - 1; i++) {
    let row: unknown;
    try {
      row = JSON.parse(lines[i]!);
    } catch {
      throw new TownImportError(`line ${i + 1} is not JSON`);
    }
    if (!Array.isArray(row) || row.length !== 3 || !(COLLECTIONS as readonly unknown[]).includes(row[0]) || typeof row[1] !== 'string') {
      throw new TownImportError(`line ${i + 1} is not a ["collection","id",value] record`);
    }
    rows.push(row as [Collection, string, unknown]);
  }
  if (rows.length !== Number(trailer[1])) throw new TownImportError(`the trailer says ${trailer[1]} records but the file has ${rows.length}`);
  const existing = await store.read((tx) => COLLECTIONS.reduce((n, c) => n + tx.count(c), 0));
  if (existing > 0) throw new TownImportError(`the target store already holds ${existing} records; import only into an empty store`);
  for (let i = 0; i < rows.length; i += IMPORT_BATCH) {
    const batch = rows.slice(i, i + IMPORT_BATCH);
    await store.transact((tx) => {
      for (const [collection, id, value] of batch) tx.put(collection, id, value);
    });
  }
  return rows.length;
}
