// The package version, read once from package.json so it has one source.
import { readFileSync } from 'node:fs';

function readVersion(): string {
  // dist/src/version.js -> ../../package.json; src/version.ts (tsx) -> ../package.json
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'townhall' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
