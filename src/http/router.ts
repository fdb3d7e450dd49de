// The router: a segment trie built once at start-up from the route table.
//
// - Mistakes fail loudly at start-up: a route registered twice, or two
//   parameter names at the same position.
// - The path is split on "/" first and each segment decoded once, so "%2F"
//   stays inside one parameter and nothing is decoded twice; malformed
//   percent-encoding is a 400.
// - Static segments win over parameters (`/v1/tasks/pending` before
//   `/v1/tasks/{id}`); if the static branch lacks the method, a parametric
//   branch that has it is tried before answering 405.
// - Params are null-prototype objects, so "__proto__" is just a name.
import type { Method, RouteDef } from './route.js';

export type RouteMatch =
  | { kind: 'found'; route: RouteDef; params: Record<string, string> }
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'not_found' }
  | { kind: 'bad_path' };

interface Node {
  statics: Map<string, Node>;
  param: { name: string; node: Node } | null;
  methods: Map<Method, RouteDef>;
}

export const MAX_PARAM_LENGTH = 512;
const MAX_SEGMENTS = 32;

function newNode(): Node {
  return { statics: new Map(), param: null, methods: new Map() };
}

export interface Router {
  match(method: string, path: string): RouteMatch;
  readonly routes: readonly RouteDef[];
}

export function createRouter(routes: readonly RouteDef[]): Router {
  const root = newNode();
  for (const route of routes) {
    if (!route.path.startsWith('/')) throw new Error(`route path must start with "/": ${route.path}`);
    let node = root;
    for (const segment of route.path.split('/').slice(1)) {
      const param = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(segment);
      if (param) {
        const name = param[1]!;
        if (node.param === null) node.param = { name, node: newNode() };
        else if (node.param.name !== name) throw new Error(`conflicting parameter names {${node.param.name}} and {${name}} in ${route.path}`);
        node = node.param.node;
      } else {
        if (segment.includes('{')) throw new Error(`malformed path segment "${segment}" in ${route.path}`);
        let next = node.statics.get(segment);
        if (next === undefined) node.statics.set(segment, (next = newNode()));
        node = next;
      }
    }
    if (node.methods.has(route.method)) throw new Error(`route registered twice: ${route.method} ${route.path}`);
    node.methods.set(route.method, route);
  }

  function collect(node: Node, segments: string[], i: number, values: string[], out: Array<{ node: Node; values: string[] }>): void {
    if (i === segments.length) {
      if (node.methods.size > 0) out.push({ node, values: [...values] });
      return;
    }
    const seg = segments[i]!;
    const next = node.statics.get(seg);
    if (next !== undefined) collect(next, segments, i + 1, values, out);
    if (node.param !== null && seg !== '') {
      values.push(seg);
      collect(node.param.node, segments, i + 1, values, out);
      values.pop();
    }
  }

  const paramNames = new Map(routes.map((r) => [r, r.path.split('/').flatMap((s) => (s.startsWith('{') ? [s.slice(1, -1)] : []))]));

  // Fully static paths (most hot ones: /v1/status, /health) skip the trie walk, and their match is built
  // once (path -> method -> match): the pipeline only reads a match, and their params are always empty.
  const staticRoutes = new Map<string, Map<string, RouteMatch>>();
  for (const r of routes) {
    if (r.path.includes('{')) continue;
    let byMethod = staticRoutes.get(r.path);
    if (byMethod === undefined) staticRoutes.set(r.path, (byMethod = new Map()));
    byMethod.set(r.method, Object.freeze({ kind: 'found', route: r, params: Object.freeze(Object.create(null) as Record<string, string>) }));
  }

  return {
    routes,
    match(method, path) {
      if (!path.includes('%')) {
        const found = staticRoutes.get(path)?.get(method === 'HEAD' ? 'GET' : method);
        if (found !== undefined) return found;
      }
      const raw = path.split('/').slice(1);
      if (raw.length > MAX_SEGMENTS) return { kind: 'not_found' };
      const segments: string[] = [];
      for (const s of raw) {
        let decoded: string;
        try {
          decoded = decodeURIComponent(s);
        } catch {
          return { kind: 'bad_path' };
        }
        if (decoded.length > MAX_PARAM_LENGTH) return { kind: 'bad_path' };
        segments.push(decoded);
      }
      const candidates: Array<{ node: Node; values: string[] }> = [];
      collect(root, segments, 0, [], candidates);
      if (candidates.length === 0) return { kind: 'not_found' };
      const wanted = (method === 'HEAD' ? 'GET' : method) as Method;
      for (const { node, values } of candidates) {
        const route = node.methods.get(wanted);
        if (route === undefined) continue;
        const params: Record<string, string> = Object.create(null) as Record<string, string>;
        paramNames.get(route)!.forEach((name, i) => {
          params[name] = values[i]!;
        });
        return { kind: 'found', route, params };
      }
      // Every branch that matched the path contributes its methods.
      const allow = new Set<string>(candidates.flatMap((c) => [...c.node.methods.keys()]));
      if (allow.has('GET')) allow.add('HEAD');
      return { kind: 'method_not_allowed', allow: [...allow].sort() };
    },
  };
}
