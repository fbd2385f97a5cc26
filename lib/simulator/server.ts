/**
 * The Databricks workspace simulator's HTTP server (node:http, 127.0.0.1 only): the clusters 2.0/2.1
 * and jobs 2.1/2.2 endpoints the product calls, bearer-token and OAuth M2M authentication, the
 * request faults, and the `/__admin/` endpoint that drives scenarios.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JsonDepthError, JsonSyntaxError, parseJson } from '../../functions/core/json.ts';
import { SimClock } from './clock.ts';
import { SimApiError } from './errors.ts';
import { Faults } from './faults.ts';
import type { CallOrigin, Harm } from './harms.ts';
import { SimRandom } from './random.ts';
import {
  AdvanceClockSchema,
  FailClusterSchema,
  type FaultsInput,
  FaultsSchema,
  parseScenario,
  parseScenarioPart,
  type Scenario,
  ScenarioError,
  type ScenarioInput,
  type TerminationReasonSeed,
  type UserActionInput,
  UserActionSchema,
} from './scenario.ts';
import { type LoadResult, Workspace } from './workspace.ts';

export interface OAuthClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

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

export interface LoggedRequest {
  /** Simulated time (epoch ms). */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly clusterId?: string;
}

export interface SimulatorStats {
  /** Requests per `METHOD path`, admin requests excluded. */
  readonly requests: Record<string, number>;
  /** Answers per status code (`drop` for dropped connections). */
  readonly statuses: Record<string, number>;
  readonly tokensIssued: number;
  readonly faultsFired: Record<string, number>;
}

/** Direct, in-process access to what `/__admin/` does over HTTP. */
export interface SimulatorAdmin {
  loadScenario(scenario: Scenario | ScenarioInput, options?: { readonly replace?: boolean }): LoadResult;
  reset(): void;
  /** A running (or starting) cluster terminates with this reason: TERMINATING, then TERMINATED. */
  failCluster(clusterId: string, reason: TerminationReasonSeed): void;
  /** The driver crashes: RUNNING stays RUNNING, `last_state_loss_time` and `spark_context_id` change. */
  crashDriver(clusterId: string): void;
  /** A GC-pause blip: DRIVER_NOT_RESPONDING, then DRIVER_HEALTHY after `gcPauseMs`; nothing lost. */
  gcPause(clusterId: string): void;
  /** A command runs on the cluster: `last_activity_time` moves (autotermination starts again). */
  runCommand(clusterId: string): void;
  /** A user terminates / starts / edits the cluster (not judged by the harm ledger). */
  userTerminate(clusterId: string, action?: UserActionInput): void;
  userStart(clusterId: string, action?: UserActionInput): void;
  userRestart(clusterId: string, action?: UserActionInput): void;
  userEdit(clusterId: string, action: UserActionInput): void;
  /** The harm ledger: what API callers did that a careful operator never would. */
  harms(): Harm[];
  clearHarms(): void;
  /** Switches faults on (or off with `null`); faults not named stay as they are. */
  setFaults(faults: FaultsInput): void;
  clearFaults(): void;
  /** Moves simulated time forward and applies due transitions; returns the new time. */
  advance(ms: number): number;
  setTimeScale(timeScale: number): void;
  now(): number;
  stats(): SimulatorStats;
  /**
   * The request log: every API request (admin excluded) with its simulated time and the cluster it
   * names (query `cluster_id` or body `cluster_id`), oldest first; the last 50,000 are kept.
   */
  requestLog(): readonly LoggedRequest[];
  resetStats(): void;
  state(): Record<string, unknown>;
  /** The cluster as `clusters/get` shows it, or undefined. */
  cluster(clusterId: string): Record<string, unknown> | undefined;
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

const MAX_BODY_BYTES = 1_048_576;

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const token = options.token ?? `dapi${randomBytes(16).toString('hex')}`;
  const adminToken = options.adminToken ?? token;
  if (token.length < 8 || adminToken.length < 8) throw new RangeError('tokens must be at least 8 characters');
  const scenario = options.scenario === undefined ? undefined : parseScenario(options.scenario);
  const seed = options.seed ?? scenario?.seed ?? 1;
  const clock = new SimClock({
    timeScale: options.timeScale ?? 1,
    ...(options.startTime === undefined ? {} : { startTime: options.startTime }),
  });
  const faultRandom = new SimRandom(seed ^ 0x5eed);
  const faults = new Faults(faultRandom);
  const workspace = new Workspace({ clock, faults, seed });
  const oauthClients = options.oauthClients ?? [
    {
      clientId: `sim-sp-${randomBytes(4).toString('hex')}`,
      clientSecret: `dose${randomBytes(16).toString('hex')}`,
    },
  ];
  const tokenTtlSeconds = options.oauthTokenTtlSeconds ?? 3600;
  const oauthTokens = new Map<string, number>();
  const requestLog: LoggedRequest[] = [];
  const logRequest = (method: string, path: string, clusterId: string | undefined): void => {
    if (requestLog.length >= 50_000) requestLog.shift();
    requestLog.push({ at: clock.now(), method, path, ...(clusterId === undefined ? {} : { clusterId }) });
  };
  const stats = {
    requests: {} as Record<string, number>,
    statuses: {} as Record<string, number>,
    tokensIssued: 0,
  };

  const admin: SimulatorAdmin = {
    loadScenario(input, loadOptions) {
      const parsed = parseScenario(input);
      if (loadOptions?.replace) {
        workspace.reset();
        faults.clear();
      }
      const result = workspace.load(parsed);
      workspace.tick();
      return result;
    },
    reset() {
      workspace.reset();
      faults.clear();
    },
    failCluster(clusterId, reason) {
      workspace.tick();
      workspace.actions.failCluster(
        clusterId,
        parseScenarioPart(FailClusterSchema, reason, 'failure reason'),
      );
    },
    crashDriver(clusterId) {
      workspace.tick();
      workspace.lifecycle.driverTrouble(clusterId, 'crash');
    },
    gcPause(clusterId) {
      workspace.tick();
      workspace.lifecycle.driverTrouble(clusterId, 'gc-pause');
    },
    runCommand(clusterId) {
      workspace.tick();
      workspace.actions.runCommand(clusterId);
    },
    userTerminate(clusterId, action = {}) {
      workspace.tick();
      workspace.actions.userTerminate(
        clusterId,
        parseScenarioPart(UserActionSchema, action, 'user action').user,
      );
    },
    userStart(clusterId, action = {}) {
      workspace.tick();
      workspace.actions.userStart(clusterId, parseScenarioPart(UserActionSchema, action, 'user action').user);
    },
    userRestart(clusterId, action = {}) {
      workspace.tick();
      workspace.actions.userRestart(
        clusterId,
        parseScenarioPart(UserActionSchema, action, 'user action').user,
      );
    },
    userEdit(clusterId, action) {
      workspace.tick();
      const parsed = parseScenarioPart(UserActionSchema, action, 'user action');
      if (parsed.attributes === undefined)
        throw new ScenarioError('invalid user action', ['attributes: an edit needs the attributes to set']);
      workspace.actions.userEdit(clusterId, parsed.user, parsed.attributes);
    },
    harms: () => workspace.harms.list(),
    clearHarms() {
      workspace.harms.clear();
    },
    setFaults(input) {
      faults.set(parseScenarioPart(FaultsSchema, input, 'faults'));
    },
    clearFaults() {
      faults.clear();
    },
    advance(ms) {
      const now = clock.advance(ms);
      workspace.tick();
      return now;
    },
    setTimeScale(timeScale) {
      workspace.tick();
      clock.setTimeScale(timeScale);
    },
    now: () => clock.now(),
    stats: () => ({
      requests: { ...stats.requests },
      statuses: { ...stats.statuses },
      tokensIssued: stats.tokensIssued,
      faultsFired: { ...faults.fired },
    }),
    requestLog: () => [...requestLog],
    resetStats() {
      requestLog.length = 0;
      stats.requests = {};
      stats.statuses = {};
      stats.tokensIssued = 0;
      for (const key of Object.keys(faults.fired)) delete faults.fired[key];
    },
    state() {
      workspace.tick();
      return {
        now: clock.now(),
        timeScale: clock.timeScale,
        ...workspace.summary(),
        faults: faults.describe(),
        stats: admin.stats(),
      };
    },
    cluster(clusterId) {
      workspace.tick();
      try {
        return workspace.reads.getCluster(clusterId);
      } catch (error) {
        if (error instanceof SimApiError) return undefined;
        throw error;
      }
    },
  };

  if (scenario) admin.loadScenario(scenario);

  const isApiToken = (presented: string): 'ok' | 'expired' | 'invalid' => {
    if (safeEqual(presented, token)) return 'ok';
    const expiresAt = oauthTokens.get(presented);
    if (expiresAt === undefined) return 'invalid';
    return clock.now() < expiresAt ? 'ok' : 'expired';
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        send(res, 500, { error_code: 'INTERNAL_ERROR', message: (error as Error).message });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const method = req.method ?? 'GET';
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
    if (path.startsWith('/__admin/')) {
      if (!safeEqual(bearer(req) ?? '', adminToken)) {
        send(res, 401, {
          error_code: 'UNAUTHENTICATED',
          message: 'The admin endpoint needs the admin bearer token.',
        });
        return;
      }
      await answer(res, () => routeAdmin(method, path, url.searchParams, raw));
      return;
    }
    const key = `${method} ${path}`;
    stats.requests[key] = (stats.requests[key] ?? 0) + 1;
    logRequest(method, path, url.searchParams.get('cluster_id') ?? bodyClusterId(raw));
    const count = (status: number | 'drop'): void => {
      stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    };
    const delay = faults.latencyFor(path);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (faults.dropFor(path)) {
      count('drop');
      req.socket.destroy();
      return;
    }
    if (path === '/oidc/.well-known/oauth-authorization-server') {
      // OAuth discovery is public, as on a real workspace host.
      count(200);
      send(res, 200, {
        issuer: `${workspace.baseUrl}/oidc`,
        authorization_endpoint: `${workspace.baseUrl}/oidc/v1/authorize`,
        token_endpoint: `${workspace.baseUrl}/oidc/v1/token`,
        grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
        scopes_supported: ['all-apis', 'offline_access'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
      return;
    }
    if (path === '/oidc/v1/token') {
      if (injectFailure(path, res, count)) return;
      const status = issueToken(req, res, raw);
      count(status);
      return;
    }
    const presented = bearer(req);
    const verdict = presented === undefined ? 'missing' : isApiToken(presented);
    if (verdict === 'missing') {
      count(401);
      send(res, 401, {
        error_code: 'UNAUTHENTICATED',
        message: 'Credential was not sent or was of an unsupported type for this API.',
      });
      return;
    }
    if (verdict !== 'ok') {
      // A recorded real answer to a wrong or expired token: 403 with a numeric error_code.
      count(403);
      send(res, 403, { error_code: 403, message: 'Invalid access token.' });
      return;
    }
    if (injectFailure(path, res, count)) return;
    const status = await answer(res, () => {
      workspace.tick();
      return routeApi(method, path, url.searchParams, raw, { method, path });
    });
    count(status);
  }

  /** Answers with a switched-on throttle or server error instead of the real handler. */
  function injectFailure(path: string, res: ServerResponse, count: (status: number) => void): boolean {
    const throttle = faults.throttleFor(path);
    if (throttle) {
      count(throttle.status);
      send(
        res,
        throttle.status,
        {
          error_code: throttle.errorCode,
          message: 'Too many requests. Please wait a moment and try again.',
        },
        { 'retry-after': String(throttle.retryAfterSeconds) },
      );
      return true;
    }
    const failure = faults.serverErrorFor(path);
    if (failure) {
      count(failure.status);
      if (failure.html) {
        res.writeHead(failure.status, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          `<html><head><title>Error ${failure.status}</title></head><body><h2>HTTP ERROR ${failure.status}</h2><pre>Upstream request failed (simulated)</pre></body></html>`,
        );
      } else {
        send(res, failure.status, {
          error_code: failure.status === 503 ? 'TEMPORARILY_UNAVAILABLE' : 'INTERNAL_ERROR',
          message:
            failure.status === 503
              ? 'The service is temporarily unavailable.'
              : 'Internal error (simulated).',
        });
      }
      return true;
    }
    return false;
  }

  function issueToken(req: IncomingMessage, res: ServerResponse, raw: string): number {
    const form = new URLSearchParams(raw);
    let clientId = form.get('client_id') ?? undefined;
    let clientSecret = form.get('client_secret') ?? undefined;
    const header = req.headers.authorization;
    if (header?.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        clientId = decodeURIComponent(decoded.slice(0, colon));
        clientSecret = decodeURIComponent(decoded.slice(colon + 1));
      }
    }
    if (req.method !== 'POST') {
      send(res, 405, { error: 'invalid_request', error_description: 'Use POST' });
      return 405;
    }
    if (form.get('grant_type') !== 'client_credentials') {
      send(res, 400, {
        error: 'unsupported_grant_type',
        error_description: 'Only client_credentials is supported',
      });
      return 400;
    }
    const client = oauthClients.find((c) => c.clientId === clientId);
    if (!client || clientSecret === undefined || !safeEqual(clientSecret, client.clientSecret)) {
      send(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
      return 401;
    }
    const accessToken = `sim-oauth-${randomBytes(24).toString('base64url')}`;
    oauthTokens.set(accessToken, clock.now() + tokenTtlSeconds * 1000);
    stats.tokensIssued++;
    send(res, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: tokenTtlSeconds,
      scope: form.get('scope') ?? 'all-apis',
    });
    return 200;
  }

  function routeApi(
    method: string,
    path: string,
    query: URLSearchParams,
    raw: string,
    origin: CallOrigin,
  ): unknown {
    if (path === '/api/2.0/policies/clusters/get') {
      if (method !== 'GET')
        throw new SimApiError(405, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${path}'`);
      return workspace.reads.getPolicy(query);
    }
    const match = /^\/api\/(2\.[0-2])\/(clusters|jobs)\/(.+)$/.exec(path);
    if (!match) throw notFound(method, path);
    const [, version, area, op] = match;
    const body = (): Record<string, unknown> => parseBody(raw);
    const expect = (verb: string): void => {
      if (method !== verb)
        throw new SimApiError(405, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${path}'`);
    };
    if (area === 'clusters' && (version === '2.0' || version === '2.1')) {
      switch (op) {
        case 'list':
          expect('GET');
          return version === '2.0'
            ? workspace.reads.listClustersLegacy()
            : workspace.reads.listClusters(query);
        case 'get':
          expect('GET');
          return workspace.reads.getCluster(query.get('cluster_id') ?? undefined);
        case 'events':
          expect('POST');
          return workspace.reads.events(body());
        case 'start':
          expect('POST');
          workspace.actions.start(body(), origin);
          return {};
        case 'restart':
          expect('POST');
          workspace.actions.restart(body(), origin);
          return {};
        case 'resize':
          expect('POST');
          workspace.actions.resize(body(), origin);
          return {};
        case 'edit':
          expect('POST');
          workspace.actions.edit(body(), origin);
          return {};
        case 'update':
          expect('POST');
          workspace.actions.update(body(), origin);
          return {};
        case 'delete':
          expect('POST');
          workspace.actions.terminate(body(), origin);
          return {};
        case 'permanent-delete':
          expect('POST');
          workspace.actions.permanentDelete(body(), origin);
          return {};
      }
    }
    if (area === 'jobs' && (version === '2.1' || version === '2.2')) {
      switch (op) {
        case 'runs/get':
          expect('GET');
          return workspace.jobs.getRun(query, version === '2.2');
        case 'runs/repair':
          expect('POST');
          return workspace.jobs.repair(body());
        case 'run-now':
          expect('POST');
          return workspace.jobs.runNow(body());
        case 'list':
          expect('GET');
          return workspace.jobs.listJobs(query);
        case 'runs/list':
          expect('GET');
          return workspace.jobs.listRuns(query);
      }
    }
    throw notFound(method, path);
  }

  function routeAdmin(method: string, path: string, query: URLSearchParams, raw: string): unknown {
    const json = (): unknown => (raw.trim() === '' ? {} : parseJson(raw));
    const cluster =
      /^\/__admin\/clusters\/([^/]+)\/(fail|crash-driver|gc-pause|command|user-terminate|user-start|user-restart|user-edit)$/.exec(
        path,
      );
    if (cluster && method === 'POST') {
      const id = decodeURIComponent(cluster[1] ?? '');
      const actions: Record<string, () => void> = {
        fail: () => admin.failCluster(id, json() as TerminationReasonSeed),
        'crash-driver': () => admin.crashDriver(id),
        'gc-pause': () => admin.gcPause(id),
        command: () => admin.runCommand(id),
        'user-terminate': () => admin.userTerminate(id, json() as UserActionInput),
        'user-start': () => admin.userStart(id, json() as UserActionInput),
        'user-restart': () => admin.userRestart(id, json() as UserActionInput),
        'user-edit': () => admin.userEdit(id, json() as UserActionInput),
      };
      actions[cluster[2] ?? '']?.();
      return admin.cluster(id);
    }
    switch (`${method} ${path}`) {
      case 'GET /__admin/state':
        return admin.state();
      case 'POST /__admin/scenario':
        return admin.loadScenario(json() as ScenarioInput, { replace: query.get('replace') === 'true' });
      case 'POST /__admin/reset':
        admin.reset();
        return admin.state();
      case 'POST /__admin/faults':
        admin.setFaults(json() as FaultsInput);
        return faults.describe();
      case 'DELETE /__admin/faults':
        admin.clearFaults();
        return faults.describe();
      case 'POST /__admin/clock': {
        const body = parseScenarioPart(AdvanceClockSchema, json(), 'clock request');
        if (body.timeScale !== undefined) admin.setTimeScale(body.timeScale);
        if (body.advanceMs !== undefined) admin.advance(body.advanceMs);
        return { now: clock.now(), timeScale: clock.timeScale };
      }
      case 'GET /__admin/harms':
        return { harms: admin.harms() };
      case 'DELETE /__admin/harms':
        admin.clearHarms();
        return { harms: admin.harms() };
      case 'GET /__admin/stats':
        return admin.stats();
      case 'DELETE /__admin/stats':
        admin.resetStats();
        return admin.stats();
    }
    throw notFound(method, path);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  workspace.baseUrl = url;

  return {
    url,
    port,
    token,
    adminToken,
    oauthClients,
    admin,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Runs a handler and writes its result (200) or its error; returns the status sent. */
async function answer(res: ServerResponse, handler: () => unknown): Promise<number> {
  try {
    const result = await handler();
    send(res, 200, result ?? {});
    return 200;
  } catch (error) {
    if (error instanceof SimApiError) {
      send(
        res,
        error.status,
        { error_code: error.errorCode, message: error.message },
        error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) },
      );
      return error.status;
    }
    if (error instanceof ScenarioError) {
      send(res, 400, { error_code: 'INVALID_PARAMETER_VALUE', message: error.message, issues: error.issues });
      return 400;
    }
    if (error instanceof JsonSyntaxError || error instanceof JsonDepthError) {
      send(res, 400, {
        error_code: 'MALFORMED_REQUEST',
        message: `Invalid JSON given in the body of the request: ${error.message}`,
      });
      return 400;
    }
    throw error;
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function parseBody(raw: string): Record<string, unknown> {
  if (raw.trim() === '') return {};
  const value = parseJson(raw);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SimApiError(
      400,
      'MALFORMED_REQUEST',
      'Invalid JSON given in the body of the request - expected a map',
    );
  }
  return value as Record<string, unknown>;
}

function notFound(method: string, path: string): SimApiError {
  return new SimApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${path}'`);
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RangeError('body too large'));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The `cluster_id` of a JSON request body, if it names one. */
function bodyClusterId(raw: string): string | undefined {
  if (!raw.includes('cluster_id')) return undefined;
  try {
    const id = (JSON.parse(raw) as { cluster_id?: unknown }).cluster_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
