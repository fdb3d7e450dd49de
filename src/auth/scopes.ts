// The scope vocabulary and the one rule for whether a principal may act.
// `admin` implies every scope; a key configured with no scopes is an admin key.

export const SCOPES = ['town.read', 'town.write', 'agent.manage', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a route requires: a scope, or `public` (no authentication at all). */
export type RouteAccess = Scope | 'public';

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Scopes a key effectively has: an empty list means admin. */
export function effectiveScopes(configured: readonly Scope[]): readonly Scope[] {
  return configured.length === 0 ? ['admin'] : configured;
}

export function hasScope(granted: readonly Scope[], required: Scope): boolean {
  return granted.includes('admin') || granted.includes(required);
}
