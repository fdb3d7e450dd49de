// MCP protocol revisions this server speaks, and how one is chosen. The
// client proposes one in `initialize`; we answer with it if we support it,
// otherwise with our latest (the client then decides whether to go on).

export const LATEST_PROTOCOL_VERSION = '2025-06-18';
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = ['2025-06-18', '2025-03-26', '2024-11-05'];
/** What a request without an MCP-Protocol-Version header is assumed to speak (the spec's rule). */
export const HEADERLESS_PROTOCOL_VERSION = '2025-03-26';

/** Revisions that allow JSON-RPC batches (2025-06-18 removed them). */
const BATCH_VERSIONS: ReadonlySet<string> = new Set(['2025-03-26', '2024-11-05']);

export function negotiateProtocolVersion(requested: unknown): string {
  return typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}

export function isSupportedProtocolVersion(version: string): boolean {
  return SUPPORTED_PROTOCOL_VERSIONS.includes(version);
}

export function allowsBatches(version: string): boolean {
  return BATCH_VERSIONS.has(version);
}
