/**
 * The Databricks workspace simulator's HTTP server (node:http, 127.0.0.1 only): the clusters 2.0/2.1
 * and jobs 2.1/2.2 endpoints the product calls, bearer-token and OAuth M2M authentication, the
 * request faults, and the `/__admin/` endpoint that drives scenarios.
 *
 * The server only authenticates, applies request faults, matches a route (routes.ts, admin.ts) and
 * renders errors (http.ts); what an endpoint does is the workspace model's (workspace.ts).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Admin, adminRoutes, type SimulatorAdmin } from './admin.ts';
import { SimClock } from './clock.ts';
import { Faults } from './faults.ts';
import { answer, bearer, bodyClusterId, MAX_BODY_BYTES, readBody, safeEqual, send } from './http.ts';
import { type OAuthClient, OAuthIssuer } from './oauth.ts';
import { SimRandom } from './random.ts';
import { apiRoutes, dispatch, type Request, type Route } from './routes.ts';
import { parseScenario, type Scenario, type ScenarioInput } from './scenario.ts';
import { Traffic } from './traffic.ts';
import { Workspace } from './workspace.ts';

export type { SimulatorAdmin } from './admin.ts';
export type { OAuthClient } from './oauth.ts';
export type { LoggedRequest, SimulatorStats } from './traffic.ts';

export interface SimulatorOptions {
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** Personal access token accepted as `Authorization: Bearer …`. @default a random one */
  readonly token?: string;
  /** Token of the `/__admin/` endpoint. @default the same as `token` */
  readonly adminToken?: string;
  /** A validated scenario or its JSON; loaded at start. */
  readonly scenario?: Scenario | ScenarioInput;
  /** Simulated ms per real ms; 0 = manual clock (only `advance` moves time). @default 1 */
  readonly timeScale?: number;
  /** Simulated time at start (epoch ms). @default now */
  readonly startTime?: number;
  /** Seed of generated clusters and of fault shares. @default the scenario's seed, else 1 */
  readonly seed?: number;
  /** Service principals accepted by `/oidc/v1/token`. @default one with a random secret */
  readonly oauthClients?: readonly OAuthClient[];
  /** Lifetime (`expires_in`) of issued OAuth tokens, in simulated seconds. @default 3600 */
  readonly oauthTokenTtlSeconds?: number;
}

export interface RunningSimulator {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The personal access token to send as `Authorization: Bearer …`. */
  readonly token: string;
  readonly adminToken: string;
  readonly oauthClients: readonly OAuthClient[];
  readonly admin: SimulatorAdmin;
  close(): Promise<void>;
}

/** What answering a request needs: the model, its faults and clock, and the server's own parts. */
interface Simulator {
  readonly token: string;
  readonly adminToken: string;
  readonly workspace: Workspace;
  readonly faults: Faults;
  readonly traffic: Traffic;
  readonly oauth: OAuthIssuer;
  readonly api: readonly Route[];
  readonly adminApi: readonly Route[];
}

const OAUTH_DISCOVERY = '/oidc/.well-known/oauth-authorization-server';
const OAUTH_TOKEN = '/oidc/v1/token';

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const { sim, admin } = buildSimulator(options);
  const server: Server = createServer((req, res) => {
    handle(sim, req, res).catch((error: unknown) => {
      if (!res.headersSent)
        send(res, 500, { error_code: 'INTERNAL_ERROR', message: (error as Error).message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  sim.workspace.baseUrl = url;
  return {
    url,
    port,
    token: sim.token,
    adminToken: sim.adminToken,
    oauthClients: sim.oauth.clients,
    admin,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function buildSimulator(options: SimulatorOptions): { sim: Simulator; admin: Admin } {
  const token = options.token ?? `dapi${randomBytes(16).toString('hex')}`;
  const adminToken = options.adminToken ?? token;
  if (token.length < 8 || adminToken.length < 8) throw new RangeError('tokens must be at least 8 characters');
  const scenario = options.scenario === undefined ? undefined : parseScenario(options.scenario);
  const seed = options.seed ?? scenario?.seed ?? 1;
  const clock = new SimClock({
    timeScale: options.timeScale ?? 1,
    ...(options.startTime === undefined ? {} : { startTime: options.startTime }),
  });
  const faults = new Faults(new SimRandom(seed ^ 0x5eed));
  const workspace = new Workspace({ clock, faults, seed });
  const traffic = new Traffic(clock, faults);
  const oauth = new OAuthIssuer({
    clients: options.oauthClients ?? [
      {
        clientId: `sim-sp-${randomBytes(4).toString('hex')}`,
        clientSecret: `dose${randomBytes(16).toString('hex')}`,
      },
    ],
    ttlSeconds: options.oauthTokenTtlSeconds ?? 3600,
    clock,
    traffic,
  });
  const admin = new Admin({ workspace, faults, clock, traffic });
  if (scenario) admin.loadScenario(scenario);
  const api = apiRoutes(workspace);
  const adminApi = adminRoutes(admin, faults, clock);
  return { sim: { token, adminToken, workspace, faults, traffic, oauth, api, adminApi }, admin };
}

async function handle(sim: Simulator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const request: Request = {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    raw: '',
  };
  let raw: string;
  try {
    raw = await readBody(req);
  } catch {
    send(res, 413, {
      error_code: 'REQUEST_TOO_LARGE',
      message: `Request body exceeds ${MAX_BODY_BYTES} bytes`,
    });
    return;
  }
  if (request.path.startsWith('/__admin/')) {
    if (!safeEqual(bearer(req) ?? '', sim.adminToken)) {
      send(res, 401, {
        error_code: 'UNAUTHENTICATED',
        message: 'The admin endpoint needs the admin bearer token.',
      });
      return;
    }
    await answer(res, () => dispatch(sim.adminApi, { ...request, raw }, 404));
    return;
  }
  await handleApi(sim, req, res, { ...request, raw });
}

/** An API request: counted and logged, its faults applied, authenticated, then routed. */
async function handleApi(
  sim: Simulator,
  req: IncomingMessage,
  res: ServerResponse,
  request: Request,
): Promise<void> {
  const { path, method, raw } = request;
  const { traffic, faults } = sim;
  traffic.request(method, path, request.query.get('cluster_id') ?? bodyClusterId(raw));
  const delay = faults.latencyFor(path);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  if (faults.dropFor(path)) {
    traffic.answered('drop');
    req.socket.destroy();
    return;
  }
  if (path === OAUTH_DISCOVERY) {
    // OAuth discovery is public, as on a real workspace host.
    traffic.answered(200);
    send(res, 200, sim.oauth.discovery(sim.workspace.baseUrl));
    return;
  }
  if (path === OAUTH_TOKEN) {
    if (injectFailure(sim, path, res)) return;
    const issued = sim.oauth.issue(req, raw);
    send(res, issued.status, issued.body);
    traffic.answered(issued.status);
    return;
  }
  if (!authenticated(sim, req, res) || injectFailure(sim, path, res)) return;
  const status = await answer(res, () => {
    sim.workspace.tick();
    return dispatch(sim.api, request, 405);
  });
  traffic.answered(status);
}

/** Whether the request carries a valid token; if not, answers 401 (none) or 403 (wrong or expired). */
function authenticated(sim: Simulator, req: IncomingMessage, res: ServerResponse): boolean {
  const presented = bearer(req);
  if (presented === undefined) {
    sim.traffic.answered(401);
    send(res, 401, {
      error_code: 'UNAUTHENTICATED',
      message: 'Credential was not sent or was of an unsupported type for this API.',
    });
    return false;
  }
  if (safeEqual(presented, sim.token) || sim.oauth.verify(presented) === 'ok') return true;
  // A recorded real answer to a wrong or expired token: 403 with a numeric error_code.
  sim.traffic.answered(403);
  send(res, 403, { error_code: 403, message: 'Invalid access token.' });
  return false;
}

/** Answers with a switched-on throttle or server error instead of the real handler. */
function injectFailure(sim: Simulator, path: string, res: ServerResponse): boolean {
  const throttle = sim.faults.throttleFor(path);
  if (throttle) {
    sim.traffic.answered(throttle.status);
    send(
      res,
      throttle.status,
      { error_code: throttle.errorCode, message: 'Too many requests. Please wait a moment and try again.' },
      { 'retry-after': String(throttle.retryAfterSeconds) },
    );
    return true;
  }
  const failure = sim.faults.serverErrorFor(path);
  if (!failure) return false;
  sim.traffic.answered(failure.status);
  if (failure.html) {
    res.writeHead(failure.status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<html><head><title>Error ${failure.status}</title></head><body><h2>HTTP ERROR ${failure.status}</h2><pre>Upstream request failed (simulated)</pre></body></html>`,
    );
  } else {
    send(res, failure.status, {
      error_code: failure.status === 503 ? 'TEMPORARILY_UNAVAILABLE' : 'INTERNAL_ERROR',
      message:
        failure.status === 503 ? 'The service is temporarily unavailable.' : 'Internal error (simulated).',
    });
  }
  return true;
}
