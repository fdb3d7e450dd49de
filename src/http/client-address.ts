// The client address the limiter and the audit log use. X-Forwarded-For is
// believed only from a trusted proxy ([townhall] trust_proxy: false, true =
// loopback proxies only, or a list of addresses and CIDRs), and is read from
// the right, skipping our own trusted proxies, as nginx's real_ip_recursive
// does: the first address not in the list is the client. Anyone else's
// X-Forwarded-For is ignored, so a client can neither pick the address the
// limiter blocks nor forge `remote_addr` in the audit log.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { parseProxyEntry } from '../config/proxy-list.js';

export interface ProxyTrust {
  /** Whether this address is one of our proxies. */
  trusts(address: string): boolean;
  /** No proxies at all: X-Forwarded-For is never read. */
  readonly none: boolean;
}

export function createProxyTrust(entries: readonly string[]): ProxyTrust {
  const list = new BlockList();
  for (const entry of entries) {
    const parsed = parseProxyEntry(entry);
    if (parsed === null) throw new Error(`not an address or CIDR: ${entry}`);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return {
    none: entries.length === 0,
    trusts(address) {
      const version = isIP(address);
      return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export function clientAddress(req: IncomingMessage, trust: ProxyTrust): string {
  const peer = normalizeAddress(req.socket.remoteAddress);
  const forwarded = req.headers['x-forwarded-for'];
  if (trust.none || typeof forwarded !== 'string' || !trust.trusts(peer)) return peer;
  const hops = forwarded.split(',');
  // Bounded: a header of thousands of hops costs no more than 32 checks.
  for (let i = hops.length - 1, seen = 0; i >= 0 && seen < 32; i--, seen++) {
    const hop = normalizeAddress(hops[i]!.trim());
    if (hop.length > 64 || isIP(hop) === 0) return peer;
    if (!trust.trusts(hop)) return hop;
  }
  return peer;
}
