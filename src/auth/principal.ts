// Who a request acts as, once authenticated. Built only from configuration
// (a key's id and scopes), never from anything the client sent.
import type { Scope } from './scopes.js';

export interface Principal {
  /** The key id, `api_key` for the unnamed single key, `local` in mode none, or the OIDC subject. */
  id: string;
  scopes: readonly Scope[];
}

/** The principal named on audit lines for requests that never authenticated. */
export const ANONYMOUS_ID = 'anonymous';
