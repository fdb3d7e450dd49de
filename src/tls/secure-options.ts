// The node:tls options Townhall serves with, built from the checked config:
// used to create the HTTPS server and, on reload, for setSecureContext (which
// takes the same certificate, key, CA and protocol floor).
//
// Security: TLS 1.2 is the floor by default (1.3 on request); client
// certificates are requested only with mTLS, and with `required = true` a
// client without one from the CA fails the handshake.
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { MtlsConfig, TlsConfig } from '../config/config.js';

export function secureContextOptions(tls: TlsConfig): SecureContextOptions {
  const { material } = tls;
  return {
    cert: material.cert,
    key: material.key,
    minVersion: tls.minVersion,
    ...(material.ca === null ? {} : { ca: material.ca }),
  };
}

export function serverTlsOptions(tls: TlsConfig, mtls: MtlsConfig | null): TlsOptions {
  return {
    ...secureContextOptions(tls),
    requestCert: mtls !== null,
    rejectUnauthorized: mtls?.required ?? false,
    // Node's default is 120 s: a client that opens a socket and never finishes
    // the handshake would hold it that long.
    handshakeTimeout: 10_000,
  };
}
