// The one route table: the server's own routes plus the town's. The router,
// the authorizer and /openapi.json are all built from this list.
import { coreRoutes, type CoreRouteDeps } from './core-routes.js';
import type { RouteDef } from './route.js';
import { townRoutes } from './town-routes.js';
import type { Town } from '../town/town.js';

export function buildRouteTable(core: Omit<CoreRouteDeps, 'allRoutes' | 'town'>, town: Town, extra: readonly RouteDef[] = []): RouteDef[] {
  const routes: RouteDef[] = [];
  routes.push(...coreRoutes({ ...core, town, allRoutes: () => routes }), ...townRoutes(town), ...extra);
  return routes;
}
