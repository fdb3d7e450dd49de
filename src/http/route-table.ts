// The one route table: the server's own HTTP-only routes plus every operation
// bound to its method and path. The router and /openapi.json are built from
// this list; a binding naming an unknown operation, or an operation left
// without a binding, stops start-up.
import type { AnyOperation } from '../operations/operation.js';
import { coreRoutes, type CoreRouteDeps } from './core-routes.js';
import type { HttpBinding } from './http-bindings.js';
import { bindOperation, type RouteDef } from './route.js';

export function buildRouteTable(core: Omit<CoreRouteDeps, 'allRoutes'>, operations: readonly AnyOperation[], bindings: readonly HttpBinding[]): RouteDef[] {
  const byName = new Map(operations.map((op) => [op.name, op]));
  const bound = new Set<string>();
  const routes: RouteDef[] = [...coreRoutes({ ...core, allRoutes: () => routes })];
  for (const binding of bindings) {
    const op = byName.get(binding.operation);
    if (op === undefined) throw new Error(`HTTP binding ${binding.method} ${binding.path} names unknown operation ${binding.operation}`);
    routes.push(bindOperation(op, binding));
    bound.add(op.name);
  }
  const unbound = operations.filter((op) => !bound.has(op.name)).map((op) => op.name);
  if (unbound.length > 0) throw new Error(`operations without an HTTP binding: ${unbound.join(', ')}`);
  return routes;
}
