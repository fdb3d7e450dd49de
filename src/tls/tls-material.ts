// Reads and checks the PEM files of [townhall.tls] and [townhall.mtls]: the
// server certificate, its private key and the client CA bundle. Every refusal
// is one line naming the key path, e.g.
//   [townhall.tls] cert_path: no such file: /etc/townhall/server.crt
// The checks run at start-up and at every reload, so a reload that would
// install broken material is refused before anything changes.
//
// Security: a message names the file and what is wrong with it, never its
// contents; the private key only leaves this module inside TlsMaterial.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/config-error.js';

/** Where a path came from, for messages: `[townhall.tls]` and the key as written (`cert_file` or `cert_path`). */
export interface PathSource {
  table: string;
  key: string;
  path: string;
}

export interface ServerMaterial {
  cert: Buffer;
  key: Buffer;
  /** Epoch ms of the certificate's notAfter. */
  expiresAt: number;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function refuse(src: PathSource, what: string): ConfigError {
  return new ConfigError(`${src.table} ${src.key}: ${what}`);
}

function readFile(src: PathSource): Buffer {
  try {
    return readFileSync(src.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw refuse(src, `no such file: ${src.path}`);
    if (code === 'EISDIR') throw refuse(src, `is a directory, not a file: ${src.path}`);
    throw refuse(src, `cannot read ${src.path} (${code ?? 'error'})`);
  }
}

/** Every certificate in a PEM file, parsed; refuses a file with none or with a broken one. */
function parseCertificates(pem: Buffer, src: PathSource): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw refuse(src, `not a PEM certificate file (no BEGIN CERTIFICATE block): ${src.path}`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw refuse(src, `a certificate in ${src.path} cannot be parsed`);
    }
  });
}

function parsePrivateKey(pem: Buffer, src: PathSource): KeyObject {
  const text = pem.toString('latin1');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw refuse(src, `not a PEM private key (no BEGIN PRIVATE KEY block): ${src.path}`);
  if (text.includes('ENCRYPTED')) throw refuse(src, `the private key in ${src.path} is encrypted; give an unencrypted key (file mode 600)`);
  try {
    return createPrivateKey(pem);
  } catch {
    throw refuse(src, `the private key in ${src.path} cannot be parsed`);
  }
}

function dateOf(text: string): number {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? 0 : ms;
}

/** The server certificate (first in its file) and its key: PEM, matching, currently valid. */
export function loadServerMaterial(cert: PathSource, key: PathSource, now: number): ServerMaterial {
  const certPem = readFile(cert);
  const keyPem = readFile(key);
  const leaf = parseCertificates(certPem, cert)[0]!;
  const privateKey = parsePrivateKey(keyPem, key);
  if (!leaf.checkPrivateKey(privateKey)) throw refuse(key, `the key in ${key.path} does not match the certificate in ${cert.path}`);
  const notBefore = dateOf(leaf.validFrom);
  const notAfter = dateOf(leaf.validTo);
  if (notAfter <= now) throw refuse(cert, `the certificate in ${cert.path} expired on ${new Date(notAfter).toISOString()}`);
  if (notBefore > now) throw refuse(cert, `the certificate in ${cert.path} is not valid before ${new Date(notBefore).toISOString()}`);
  return { cert: certPem, key: keyPem, expiresAt: notAfter };
}

/** A CA bundle for client certificates: at least one parsable PEM certificate. */
export function loadCaBundle(ca: PathSource): Buffer {
  const pem = readFile(ca);
  parseCertificates(pem, ca);
  return pem;
}
