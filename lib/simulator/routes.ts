/**
 * The simulator's route tables: method + path pattern → handler. `dispatch` finds the route; a path
 * no route knows is 404 ENDPOINT_NOT_FOUND, a known path with another method is 405 (the API) or 404
 * (the admin endpoint), as before the table existed.
 *
 * A new endpoint is one row here (or in admin.ts) calling a part of the workspace model.
 */
import { SimApiError } from './errors.ts';
import type { CallOrigin } from './harms.ts';
import { notFound, parseBody } from './http.ts';
import type { Workspace } from './workspace.ts';

export interface RouteRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** The pattern's capture groups. */
  readonly params: readonly string[];
  /** The raw body, as read. */
  readonly raw: string;
}

export interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handle: (request: RouteRequest) => unknown;
}

export type Request = Omit<RouteRequest, 'params'>;

/** Runs the route for the request; `wrongMethod` is the status of a known path asked with another method. */
export function dispatch(routes: readonly Route[], request: Request, wrongMethod: 404 | 405): unknown {
  let pathKnown = false;
  for (const route of routes) {
    const match = route.pattern.exec(request.path);
    if (match === null) continue;
    pathKnown = true;
    if (route.method === request.method) return route.handle({ ...request, params: match.slice(1) });
  }
  if (pathKnown && wrongMethod === 405) {
    throw new SimApiError(405, 'ENDPOINT_NOT_FOUND', `No API found for '${request.method} ${request.path}'`);
  }
  throw notFound(request.method, request.path);
}

const clusters = (op: string): RegExp => new RegExp(`^/api/2\\.[01]/clusters/${op}$`);
const jobs = (op: string): RegExp => new RegExp(`^/api/(2\\.[12])/jobs/${op}$`);

/** The clusters 2.0/2.1, jobs 2.1/2.2 and cluster-policy endpoints the product calls. */
export function apiRoutes(workspace: Workspace): Route[] {
  const { reads, actions, jobs: jobsApi } = workspace;
  const origin = (r: RouteRequest): CallOrigin => ({ method: r.method, path: r.path });
  /** A clusters write: `{}` once done. */
  const write =
    (act: (body: Record<string, unknown>, origin: CallOrigin) => void) =>
    (r: RouteRequest): unknown => {
      act(parseBody(r.raw), origin(r));
      return {};
    };
  return [
    {
      method: 'GET',
      pattern: /^\/api\/2\.0\/policies\/clusters\/get$/,
      handle: (r) => reads.getPolicy(r.query),
    },
    { method: 'GET', pattern: /^\/api\/2\.0\/clusters\/list$/, handle: () => reads.listClustersLegacy() },
    { method: 'GET', pattern: /^\/api\/2\.1\/clusters\/list$/, handle: (r) => reads.listClusters(r.query) },
    {
      method: 'GET',
      pattern: clusters('get'),
      handle: (r) => reads.getCluster(r.query.get('cluster_id') ?? undefined),
    },
    { method: 'POST', pattern: clusters('events'), handle: (r) => reads.events(parseBody(r.raw)) },
    { method: 'POST', pattern: clusters('start'), handle: write((b, o) => actions.start(b, o)) },
    { method: 'POST', pattern: clusters('restart'), handle: write((b, o) => actions.restart(b, o)) },
    { method: 'POST', pattern: clusters('resize'), handle: write((b, o) => actions.resize(b, o)) },
    { method: 'POST', pattern: clusters('edit'), handle: write((b, o) => actions.edit(b, o)) },
    { method: 'POST', pattern: clusters('update'), handle: write((b, o) => actions.update(b, o)) },
    { method: 'POST', pattern: clusters('delete'), handle: write((b, o) => actions.terminate(b, o)) },
    {
      method: 'POST',
      pattern: clusters('permanent-delete'),
      handle: write((b, o) => actions.permanentDelete(b, o)),
    },
    {
      method: 'GET',
      pattern: jobs('runs/get'),
      handle: (r) => jobsApi.getRun(r.query, r.params[0] === '2.2'),
    },
    { method: 'POST', pattern: jobs('runs/repair'), handle: (r) => jobsApi.repair(parseBody(r.raw)) },
    { method: 'POST', pattern: jobs('run-now'), handle: (r) => jobsApi.runNow(parseBody(r.raw)) },
    { method: 'GET', pattern: jobs('list'), handle: (r) => jobsApi.listJobs(r.query) },
    { method: 'GET', pattern: jobs('runs/list'), handle: (r) => jobsApi.listRuns(r.query) },
  ];
}
