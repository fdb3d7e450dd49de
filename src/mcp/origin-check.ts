// The DNS-rebinding guard of /mcp. A browser page on another site can make
// its own hostname resolve to 127.0.0.1 and then POST to a local server as a
// "same-origin" request; its Origin header still names the attacker's site.
// So an Origin, when present, must be a loopback origin or one of the server's
// own hosts (from configuration: never from the request's Host header, which
// the attacker controls as well). No Origin at all is a non-browser client.

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '[::1]']);

function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || hostname.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

export interface OriginPolicy {
  /** Hostnames besides loopback that browsers may reach us at (the bind address, a public name). */
  ownHosts: readonly string[];
}

export function isAllowedOrigin(origin: string | string[] | undefined, policy: OriginPolicy): boolean {
  if (origin === undefined) return true;
  if (typeof origin !== 'string' || origin.length > 2048) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // includes the opaque origin "null"
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const host = url.hostname.toLowerCase();
  return isLoopbackHost(host) || policy.ownHosts.some((h) => h.toLowerCase() === host);
}
