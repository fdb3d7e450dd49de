// The town's route table: every endpoint of the agents/tasks/backlog/messages
// API, declared once with its scope, body schema, query parameters, errors
// and success statuses. The router, the authorizer, the body validator and
// /openapi.json all read these declarations; handlers only translate the
// request into one Town call and its answer into a status and body.
//
// Security: body schemas are strict (unknown fields are rejected) and bound
// every string; query parameters are parsed here with their own bounds.
import type { Town } from '../town/town.js';
import type { RouteDef } from './route.js';
import { townManageRoutes } from './town-manage-routes.js';
import { townReadRoutes } from './town-read-routes.js';
import { townWriteRoutes } from './town-write-routes.js';

export function townRoutes(town: Town): RouteDef[] {
  return [...townReadRoutes(town), ...townWriteRoutes(town), ...townManageRoutes(town)];
}
