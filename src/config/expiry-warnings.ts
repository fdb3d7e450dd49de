// Advance notice of what will stop working soon: API keys and the server
// certificate expiring within a week. Logged at start-up and at every reload,
// so an operator rotating on a schedule sees the reminder in time.
import type { ApiKeyConfig, TlsConfig } from './config.js';

export const EXPIRY_NOTICE_MS = 7 * 24 * 60 * 60 * 1000;

function when(ms: number, now: number): string {
  const hours = Math.max(0, Math.round((ms - now) / 3_600_000));
  return `${new Date(ms).toISOString()} (in ${hours} h)`;
}

export function expiryWarnings(keys: readonly ApiKeyConfig[], tls: TlsConfig | null, now: number): string[] {
  const out: string[] = [];
  for (const k of keys) {
    if (k.disabled || k.expiresAt === null || k.expiresAt <= now || k.expiresAt - now > EXPIRY_NOTICE_MS) continue;
    out.push(`API key "${k.id}" expires at ${when(k.expiresAt, now)}; rotate it: add a new key, move clients, remove this one, reload`);
  }
  if (tls !== null && tls.certExpiresAt - now <= EXPIRY_NOTICE_MS) {
    out.push(`the TLS certificate ${tls.certPath} expires at ${when(tls.certExpiresAt, now)}; replace the files and reload (SIGHUP)`);
  }
  return out;
}
