// [townhall.tls], [townhall.mtls] and [[townhall.mtls.clients]] -> checked
// TlsConfig and MtlsConfig, with the PEM material already read and verified
// (tls/tls-material.ts). Tinytown writes `cert_file`, `key_file`, `ca_file`;
// the documented names are `cert_path`, `key_path`, `ca_path`: both are read.
//
// Relative paths are relative to the config file's folder, like the store path.
import { isAbsolute, resolve } from 'node:path';
import { loadCaBundle, loadServerMaterial, type PathSource } from '../tls/tls-material.js';
import { parseScopes } from './api-key-config.js';
import { ConfigError, type MtlsClient, type MtlsConfig, type TlsConfig } from './config.js';
import { checkKnownKeys, isTable, read, type TomlTable } from './toml-file.js';

const TLS = '[townhall.tls]';
const MTLS = '[townhall.mtls]';
const MIN_VERSIONS = { '1.2': 'TLSv1.2', '1.3': 'TLSv1.3', 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3' } as const;
// A certificate subject CN as we match it: printable, no quotes (it goes into audit lines and principals).
const SUBJECT = /^[\x20-\x7e]{1,256}$/;

/** A path key and its Tinytown alias; empty strings count as unset (Tinytown writes "" for "none"). */
function pathOf(table: TomlTable, label: string, documented: string, alias: string, baseDir: string): PathSource | null {
  const a = read.string(table, documented, label);
  const b = read.string(table, alias, label);
  if (a !== undefined && a !== '' && b !== undefined && b !== '') {
    throw new ConfigError(`${label} ${documented}: give either ${documented} or ${alias} (its Tinytown name), not both`);
  }
  const used = a !== undefined && a !== '' ? documented : b !== undefined && b !== '' ? alias : null;
  if (used === null) return null;
  const raw = (used === documented ? a : b)!;
  return { table: label, key: used, path: isAbsolute(raw) ? raw : resolve(baseDir, raw) };
}

function readClients(mtlsT: TomlTable): MtlsClient[] {
  const list = mtlsT['clients'];
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new ConfigError(`${MTLS} clients: must be an array of tables ([[townhall.mtls.clients]])`);
  const seen = new Set<string>();
  return list.map((entry, i) => {
    const label = `[[townhall.mtls.clients]] #${i + 1}`;
    if (!isTable(entry)) throw new ConfigError(`${label} must be a table`);
    checkKnownKeys(entry, 'townhall.mtls.clients', label);
    const subject = read.string(entry, 'subject', label);
    if (subject === undefined || !SUBJECT.test(subject) || subject.includes('"')) {
      throw new ConfigError(`${label} subject: must be the certificate's subject CN (1-256 printable characters, no quotes)`);
    }
    if (seen.has(subject)) throw new ConfigError(`${label} subject: "${subject}" is listed twice`);
    seen.add(subject);
    const scopes = parseScopes(read.stringList(entry, 'scopes', label) ?? [], `${label} (subject "${subject}")`);
    // No implicit admin for certificates: an entry must say what it may do.
    if (scopes.length === 0) throw new ConfigError(`${label} scopes: list the scopes for subject "${subject}" (e.g. ["town.read"]); certificates get no implicit admin`);
    return { subject, scopes };
  });
}

export interface TlsSettings {
  tls: TlsConfig | null;
  mtls: MtlsConfig | null;
}

export function readTlsSettings(th: TomlTable, baseDir: string, now: number): TlsSettings {
  const tlsT = isTable(th['tls']) ? th['tls'] : {};
  if (th['tls'] !== undefined && !isTable(th['tls'])) throw new ConfigError(`${TLS} must be a table`);
  checkKnownKeys(tlsT, 'townhall.tls');
  const mtlsT = isTable(th['mtls']) ? th['mtls'] : {};
  if (th['mtls'] !== undefined && !isTable(th['mtls'])) throw new ConfigError(`${MTLS} must be a table`);
  checkKnownKeys(mtlsT, 'townhall.mtls');

  const tlsOn = read.boolean(tlsT, 'enabled', TLS) ?? false;
  const mtlsEnabled = read.boolean(mtlsT, 'enabled', MTLS) ?? false;
  const mtlsRequired = read.boolean(mtlsT, 'required', MTLS) ?? false;
  const clients = readClients(mtlsT);
  const minVersionText = read.string(tlsT, 'min_version', TLS);
  const minVersion = minVersionText === undefined ? 'TLSv1.2' : MIN_VERSIONS[minVersionText as keyof typeof MIN_VERSIONS];
  if (minVersion === undefined) throw new ConfigError(`${TLS} min_version: must be "1.2" or "1.3" (got "${minVersionText}")`);

  let tls: TlsConfig | null = null;
  if (tlsOn) {
    const cert = pathOf(tlsT, TLS, 'cert_path', 'cert_file', baseDir);
    const key = pathOf(tlsT, TLS, 'key_path', 'key_file', baseDir);
    if (cert === null) throw new ConfigError(`${TLS} cert_path: required when enabled = true (the server certificate, PEM)`);
    if (key === null) throw new ConfigError(`${TLS} key_path: required when enabled = true (the certificate's private key, PEM)`);
    const server = loadServerMaterial(cert, key, now);
    tls = { certPath: cert.path, keyPath: key.path, minVersion, material: { cert: server.cert, key: server.key, ca: null }, certExpiresAt: server.expiresAt };
  }

  // Tinytown treats mTLS as on when either flag is set; so do we.
  if (!mtlsEnabled && !mtlsRequired) return { tls, mtls: null };
  if (tls === null) throw new ConfigError(`${MTLS} enabled: mutual TLS needs TLS; set [townhall.tls] enabled = true with cert_path and key_path`);
  const ca = pathOf(mtlsT, MTLS, 'ca_path', 'ca_file', baseDir);
  if (ca === null) {
    throw new ConfigError(`${MTLS} ca_path: required when mTLS is on (the CA that signs client certificates, PEM)${mtlsRequired ? '' : '; without it no client certificate could be verified'}`);
  }
  const caPem = loadCaBundle(ca);
  tls.material.ca = caPem;
  return { tls, mtls: { required: mtlsRequired, caPath: ca.path, clients } };
}
