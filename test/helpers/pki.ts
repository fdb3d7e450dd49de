// Certificates made in the test run with the openssl command line (node:crypto
// cannot issue X.509 certificates): CAs, server certificates for 127.0.0.1,
// client certificates, and expired ones (`openssl ca` takes explicit dates).
// EC P-256 keys, so each certificate costs a few milliseconds.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Issued {
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
}

export interface Ca extends Issued {
  name: string;
  dir: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A self-signed CA in `<dir>/<name>/`. */
export function makeCa(dir: string, name: string): Ca {
  const caDir = join(dir, name);
  mkdirSync(caDir, { recursive: true });
  openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '60', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], caDir);
  writeFileSync(join(caDir, 'index.txt'), '');
  writeFileSync(
    join(caDir, 'ca.cnf'),
    '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\ndefault_md = sha256\npolicy = p\nrand_serial = yes\nunique_subject = no\ncopy_extensions = none\n[p]\ncommonName = supplied\n',
  );
  const certPath = join(caDir, 'ca.pem');
  const keyPath = join(caDir, 'ca.key');
  return { name, dir: caDir, certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

export interface IssueOptions {
  /** A server certificate for 127.0.0.1 / localhost (default: a client certificate). */
  server?: boolean;
  /** YYYYMMDDHHMMSSZ; with `end`, instead of 2 days from now. */
  start?: string;
  end?: string;
  /** Validity from now, in days (default 30). */
  days?: number;
  /** File name stem (default: the CN). */
  file?: string;
}

/** A certificate for `cn` signed by `ca`, written as `<ca dir>/<file>.pem` and `.key`. */
export function issue(ca: Ca, cn: string, opts: IssueOptions = {}): Issued {
  const stem = opts.file ?? cn.replace(/[^A-Za-z0-9_-]/g, '_');
  openssl(['req', '-new', ...EC, '-keyout', `${stem}.key`, '-out', `${stem}.csr`, '-subj', `/CN=${cn}`], ca.dir);
  writeFileSync(
    join(ca.dir, `${stem}.ext`),
    opts.server === true
      ? '[x]\nsubjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\nbasicConstraints = CA:FALSE\n'
      : '[x]\nextendedKeyUsage = clientAuth\nbasicConstraints = CA:FALSE\n',
  );
  const dates = opts.start !== undefined && opts.end !== undefined ? ['-startdate', opts.start, '-enddate', opts.end] : ['-days', String(opts.days ?? 30)];
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${stem}.csr`, '-out', `${stem}.pem`,
    '-notext', '-extfile', `${stem}.ext`, '-extensions', 'x', ...dates], ca.dir);
  const certPath = join(ca.dir, `${stem}.pem`);
  const keyPath = join(ca.dir, `${stem}.key`);
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}
