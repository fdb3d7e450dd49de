// `townhall store export` / `townhall store import`: move a town between the
// journal and Redis (or back) through the JSON Lines form of town-export.ts.
// The store is the one the config chooses; the journal's lock means a
// journal town is exported or imported while its server is stopped, while a
// Redis town can be exported with replicas running (one consistent read).
//
//   townhall store export [--config PATH | --town DIR] > town.jsonl
//   townhall store import [--config PATH | --town DIR] < town.jsonl
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config.js';
import { loadConfig } from '../config/load-config.js';
import { openConfiguredStore } from '../store/open-store.js';
import { exportTown, importTown, TownImportError } from '../store/town-export.js';
import { readStdin, StdinInputError } from './read-stdin.js';

export const STORE_USAGE = `Usage: townhall store export|import [--config PATH | --town DIR]

  export   write the town of the configured store to stdout as JSON Lines
  import   read such a file from stdin into the configured store (which must be empty)
`;

const MAX_IMPORT_BYTES = 1024 * 1024 * 1024;

export interface StoreCommandIo {
  stdin: AsyncIterable<Buffer | string>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export async function runStoreCommand(argv: string[], io: StoreCommandIo): Promise<number> {
  let parsed: { values: { config?: string; town?: string }; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { config: { type: 'string' }, town: { type: 'string' } }, strict: true, allowPositionals: true });
  } catch (err) {
    io.stderr(`townhall store: ${(err as Error).message}\n\n${STORE_USAGE}`);
    return 2;
  }
  const [action, ...rest] = parsed.positionals;
  if ((action !== 'export' && action !== 'import') || rest.length > 0) {
    io.stderr(STORE_USAGE);
    return 2;
  }
  try {
    const { config } = loadConfig({ flags: parsed.values, env: io.env, cwd: io.cwd });
    const logger = { warn: (msg: string) => io.stderr(`townhall store: ${msg}\n`) };
    const { store } = await openConfiguredStore(config.store, config.town.name, logger);
    try {
      if (action === 'export') {
        const n = await exportTown(store, io.stdout);
        io.stderr(`townhall store: exported ${n} records of town "${config.town.name}"\n`);
      } else {
        const n = await importTown(store, await readStdin(io.stdin, MAX_IMPORT_BYTES));
        io.stderr(`townhall store: imported ${n} records into town "${config.town.name}"\n`);
      }
    } finally {
      await store.close();
    }
    return 0;
  } catch (err) {
    const known = err instanceof ConfigError || err instanceof TownImportError || err instanceof StdinInputError;
    const name = (err as Error).name;
    if (known || name === 'StoreOpenError' || name === 'StoreUnavailableError') {
      io.stderr(`townhall store: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}
