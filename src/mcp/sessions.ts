// MCP sessions over HTTP (`Mcp-Session-Id`): created by `initialize`, bound
// to the principal that created them, forgotten after an idle timeout, and
// bounded in number.
//
// Security: ids are random UUIDs (122 bits), never derived from anything the
// client sent. A session is only found by the principal that owns it, so a
// leaked id is useless with another key. One principal holds at most
// `maxPerPrincipal` sessions (its least recently used one makes room for a new
// one), so a key that opens sessions in a loop only displaces its own. When
// the table is full, expired sessions are swept first; if it is still full a
// new session is refused (rather than evicting someone else's live one).
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';

export interface McpSession {
  readonly id: string;
  readonly principalId: string;
  readonly protocolVersion: string;
  lastSeen: number;
}

export interface SessionTable {
  /** A new session, or null when the table is full of live sessions. */
  create(principalId: string, protocolVersion: string): McpSession | null;
  /** The live session with this id owned by this principal (touching it), or undefined. */
  find(id: string, principalId: string): McpSession | undefined;
  /** Ends a session; false when there was none (for this principal). */
  end(id: string, principalId: string): boolean;
  readonly size: number;
}

export interface SessionOptions {
  clock: Clock;
  maxSessions: number;
  maxPerPrincipal: number;
  idleTimeoutMs: number;
}

export const SESSION_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

export function createSessionTable(opts: SessionOptions): SessionTable {
  // Map order is kept as least-recently-used first (a touched session is
  // re-inserted), so the sweep stops at the first live one.
  const sessions = new Map<string, McpSession>();

  function sweep(now: number): void {
    for (const [id, s] of sessions) {
      if (now - s.lastSeen < opts.idleTimeoutMs) return;
      sessions.delete(id);
    }
  }

  return {
    create(principalId, protocolVersion) {
      const now = opts.clock.now();
      sweep(now);
      let own = 0;
      let oldestOwn: string | undefined;
      for (const [id, s] of sessions) {
        if (s.principalId !== principalId) continue;
        own++;
        oldestOwn ??= id;
      }
      if (own >= opts.maxPerPrincipal && oldestOwn !== undefined) sessions.delete(oldestOwn);
      else if (sessions.size >= opts.maxSessions) return null;
      const session: McpSession = { id: randomUUID(), principalId, protocolVersion, lastSeen: now };
      sessions.set(session.id, session);
      return session;
    },
    find(id, principalId) {
      const now = opts.clock.now();
      sweep(now);
      const s = sessions.get(id);
      if (s === undefined || s.principalId !== principalId) return undefined;
      s.lastSeen = now;
      sessions.delete(id);
      sessions.set(id, s);
      return s;
    },
    end(id, principalId) {
      const s = sessions.get(id);
      if (s === undefined || s.principalId !== principalId) return false;
      sessions.delete(id);
      return true;
    },
    get size() {
      return sessions.size;
    },
  };
}
