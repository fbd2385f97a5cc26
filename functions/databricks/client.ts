/**
 * The Databricks REST client every Lambda uses: typed calls for clusters (API 2.1) and jobs
 * (API 2.2), zod-validated answers that tolerate unknown fields, int64 ids kept exact, errors
 * mapped the way Databricks really sends them, and retries under an absolute deadline.
 *
 * Request and response objects use the REST API's own field names (snake_case) so that they can
 * be compared with Databricks' documentation line by line.
 */

import { describeIssues, ValidationError } from '../core/errors.ts';
import { parseResponseJson } from '../core/json.ts';
import {
  type ClusterDetails,
  ClusterDetailsSchema,
  type ClusterEvent,
  type ClusterEventsResponse,
  ClusterEventsResponseSchema,
  type ClusterPolicyResponse,
  ClusterPolicySchema,
  EmptyResponseSchema,
  type ListClustersResponse,
  ListClustersResponseSchema,
  type RepairRunResponse,
  RepairRunResponseSchema,
  type Run,
  RunNowResponseSchema,
  RunSchema,
} from '../core/schemas/databricks.ts';
import type * as z from '../core/zod.ts';
import type { AuthProvider } from './auth.ts';
import {
  DatabricksConnectionError,
  DatabricksDeadlineExceededError,
  DatabricksError,
  DatabricksResponseError,
  DatabricksThrottledError,
  DatabricksTimeoutError,
  DatabricksUnauthenticatedError,
  toApiError,
} from './errors.ts';
import {
  type Clock,
  DEFAULT_RETRY_POLICY,
  type Idempotency,
  isRetryable,
  type RetryPolicy,
  retryDelay,
  systemClock,
} from './retry.ts';

/** Per-call options. */
export interface CallOptions {
  /**
   * Absolute time (epoch ms, on the client's clock) by which the call must have answered, retries
   * included. A Lambda passes `Date.now() + context.getRemainingTimeInMillis() - margin`.
   * @default now + `defaultTimeoutMs`
   */
  readonly deadline?: number;
  /** Cancels the call (and any wait between attempts). */
  readonly signal?: AbortSignal;
  /**
   * Attempts in total while Databricks answers "throttled" (429, 503, `REQUEST_LIMIT_EXCEEDED`),
   * at most the policy's `maxAttempts`. Launch calls (start, restart, update) pass 1: the
   * node-launch limit is a token bucket that refills over minutes, so the caller backs off
   * (`launch_throttle_backoff` of the playbook) instead of the client retrying within seconds.
   * @default the policy's `maxAttempts`
   */
  readonly throttledAttempts?: number;
}

export interface DatabricksClientOptions {
  /** Workspace URL, e.g. `https://dbc-1234.cloud.databricks.com` (or the simulator's URL). */
  readonly host: string;
  readonly auth: AuthProvider;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
  readonly retry?: Partial<RetryPolicy>;
  /** Budget of a call made without a deadline. @default 60_000 */
  readonly defaultTimeoutMs?: number;
  /** Longest a single attempt may take before it is abandoned (and maybe retried). @default 30_000 */
  readonly attemptTimeoutMs?: number;
  /** Optional sink for retry diagnostics; never receives credentials. */
  readonly logger?: { warn(message: string, attributes?: Record<string, unknown>): void };
}

export type ClusterStateName =
  | 'PENDING'
  | 'RUNNING'
  | 'RESTARTING'
  | 'RESIZING'
  | 'TERMINATING'
  | 'TERMINATED'
  | 'ERROR'
  | 'UNKNOWN';

/** `GET /api/2.1/clusters/list` query; nested keys are sent as dotted names (`filter_by.cluster_states`). */
export interface ListClustersQuery {
  /** At most 100 (the server's maximum); the server decides when absent. */
  readonly page_size?: number;
  readonly page_token?: string;
  readonly filter_by?: {
    readonly cluster_states?: readonly string[];
    readonly cluster_sources?: readonly string[];
    readonly is_pinned?: boolean;
    readonly policy_id?: string;
  };
  readonly sort_by?: { readonly direction?: 'ASC' | 'DESC'; readonly field?: 'CLUSTER_NAME' | 'DEFAULT' };
}

/** `clusters/update`: only the fields named in `update_mask` change (`'*'` replaces everything). */
export interface UpdateClusterRequest {
  readonly cluster_id: string;
  readonly update_mask: string | readonly string[];
  readonly cluster: Readonly<Record<string, unknown>>;
}

export interface ClusterEventsRequest {
  readonly cluster_id: string;
  readonly start_time?: number;
  readonly end_time?: number;
  /** @default 'DESC' (server side) */
  readonly order?: 'ASC' | 'DESC';
  readonly event_types?: readonly string[];
  /** 0–500; the server decides when absent. */
  readonly page_size?: number;
  readonly page_token?: string;
}

export interface GetRunQuery {
  readonly include_history?: boolean;
  readonly include_resolved_values?: boolean;
}

export interface RepairRunRequest {
  readonly run_id: string | number;
  readonly rerun_all_failed_tasks?: boolean;
  readonly rerun_tasks?: readonly string[];
  readonly rerun_dependent_tasks?: boolean;
  /** Required by Databricks for every repair after the first: the previous `repair_id`. */
  readonly latest_repair_id?: string | number;
  readonly job_parameters?: Readonly<Record<string, string>>;
}

export interface RunNowRequest {
  readonly job_id: string | number;
  /**
   * At most 64 characters; a second run-now with the same token returns the first run. Generated
   * when absent so that the client may retry the call safely.
   */
  readonly idempotency_token?: string;
  readonly job_parameters?: Readonly<Record<string, string>>;
  readonly only?: readonly string[];
}

export interface RunNowResult {
  readonly run_id: string;
  readonly number_in_job?: string;
  /** The token sent, generated or not: reuse it to retry the launch later. */
  readonly idempotency_token: string;
}

interface RequestSpec<S extends z.ZodMiniType> {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: URLSearchParams;
  readonly body?: unknown;
  readonly idempotency: Idempotency;
  readonly schema: S;
}

/** Most runs/get pages a merged read follows (100 elements each). */
const MAX_RUN_PAGES = 1000;

interface RawJson {
  readonly rawJSON: (text: string) => unknown;
}

/**
 * A JSON number with the exact digits of an int64 id, even beyond Number.MAX_SAFE_INTEGER
 * (`JSON.rawJSON`, Node 21+).
 */
function int64(value: string | number, field: string): unknown {
  const text = String(value).trim();
  if (!/^\d{1,19}$/.test(text))
    throw new ValidationError('invalid request', [`${field}: must be a non-negative integer`]);
  return (JSON as unknown as RawJson).rawJSON(text);
}

export class DatabricksClient {
  readonly host: string;
  private readonly auth: AuthProvider;
  private readonly fetchImpl: typeof fetch;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly policy: RetryPolicy;
  private readonly defaultTimeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly logger: DatabricksClientOptions['logger'];

  constructor(options: DatabricksClientOptions) {
    const url = new URL(options.host);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TypeError(`host must be an http(s) URL, got ${url.protocol}`);
    }
    this.host = url.origin;
    this.auth = options.auth;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 30_000;
    this.logger = options.logger;
  }

  // ---- clusters (API 2.1) ----

  /** One page of `GET /api/2.1/clusters/list`. */
  async listClusters(query: ListClustersQuery = {}, options?: CallOptions): Promise<ListClustersResponse> {
    const params = new URLSearchParams();
    if (query.page_size !== undefined) params.set('page_size', String(query.page_size));
    if (query.page_token) params.set('page_token', query.page_token);
    for (const state of query.filter_by?.cluster_states ?? [])
      params.append('filter_by.cluster_states', state);
    for (const source of query.filter_by?.cluster_sources ?? [])
      params.append('filter_by.cluster_sources', source);
    if (query.filter_by?.is_pinned !== undefined)
      params.set('filter_by.is_pinned', String(query.filter_by.is_pinned));
    if (query.filter_by?.policy_id) params.set('filter_by.policy_id', query.filter_by.policy_id);
    if (query.sort_by?.direction) params.set('sort_by.direction', query.sort_by.direction);
    if (query.sort_by?.field) params.set('sort_by.field', query.sort_by.field);
    return this.request(
      {
        method: 'GET',
        path: '/api/2.1/clusters/list',
        query: params,
        idempotency: 'idempotent',
        schema: ListClustersResponseSchema,
      },
      options,
    );
  }

  /** `GET /api/2.1/clusters/get`. A missing cluster throws DatabricksNotFoundError. */
  async getCluster(clusterId: string, options?: CallOptions): Promise<ClusterDetails> {
    return this.request(
      {
        method: 'GET',
        path: '/api/2.1/clusters/get',
        query: new URLSearchParams({ cluster_id: clusterId }),
        idempotency: 'idempotent',
        schema: ClusterDetailsSchema,
      },
      options,
    );
  }

  /**
   * `POST /api/2.1/clusters/start`: TERMINATED clusters only. DatabricksInvalidStateError with
   * `state` PENDING means someone else is already starting it.
   */
  async startCluster(clusterId: string, options?: CallOptions): Promise<void> {
    await this.mutate('/api/2.1/clusters/start', { cluster_id: clusterId }, options);
  }

  /** `POST /api/2.1/clusters/restart`: RUNNING clusters only. */
  async restartCluster(
    clusterId: string,
    options?: CallOptions & { readonly restartUser?: string },
  ): Promise<void> {
    const body = {
      cluster_id: clusterId,
      ...(options?.restartUser ? { restart_user: options.restartUser } : {}),
    };
    await this.mutate('/api/2.1/clusters/restart', body, options);
  }

  /** `POST /api/2.1/clusters/update`: changes only the fields named by `update_mask`. */
  async updateCluster(request: UpdateClusterRequest, options?: CallOptions): Promise<void> {
    const mask =
      typeof request.update_mask === 'string' ? request.update_mask : request.update_mask.join(',');
    await this.mutate('/api/2.1/clusters/update', { ...request, update_mask: mask }, options);
  }

  /** One page of `POST /api/2.1/clusters/events` (token pagination; newest first unless `order: 'ASC'`). */
  async listClusterEvents(
    request: ClusterEventsRequest,
    options?: CallOptions,
  ): Promise<ClusterEventsResponse> {
    return this.request(
      {
        method: 'POST',
        path: '/api/2.1/clusters/events',
        body: request,
        idempotency: 'idempotent',
        schema: ClusterEventsResponseSchema,
      },
      options,
    );
  }

  /** Events across pages, stopping after `maxEvents` (the deadline bounds the whole iteration). */
  async listAllClusterEvents(
    request: Omit<ClusterEventsRequest, 'page_token'>,
    options?: CallOptions & { readonly maxEvents?: number },
  ): Promise<ClusterEvent[]> {
    const bounded = this.withDeadline(options);
    const max = options?.maxEvents ?? Number.POSITIVE_INFINITY;
    const events: ClusterEvent[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.listClusterEvents(
        { ...request, ...(token ? { page_token: token } : {}) },
        bounded,
      );
      for (const event of page.events) {
        if (events.length >= max) return events;
        events.push(event);
      }
      token = page.next_page_token || undefined;
      if (token !== undefined) {
        if (seen.has(token))
          throw new DatabricksResponseError('POST /api/2.1/clusters/events', 'next_page_token repeats');
        seen.add(token);
      }
    } while (token !== undefined && events.length < max);
    return events;
  }

  // ---- cluster policies (API 2.0) ----

  /**
   * `GET /api/2.0/policies/clusters/get`. `definition` is a JSON document in a string. A policy that
   * no longer exists throws DatabricksNotFoundError (`RESOURCE_DOES_NOT_EXIST`).
   */
  async getClusterPolicy(policyId: string, options?: CallOptions): Promise<ClusterPolicyResponse> {
    return this.request(
      {
        method: 'GET',
        path: '/api/2.0/policies/clusters/get',
        query: new URLSearchParams({ policy_id: policyId }),
        idempotency: 'idempotent',
        schema: ClusterPolicySchema,
      },
      options,
    );
  }

  // ---- jobs (API 2.2) ----

  /**
   * `GET /api/2.2/jobs/runs/get`, following `next_page_token` until every task, job cluster, job
   * parameter and repair-history entry (paged at 100) is merged into one Run.
   */
  async getRun(runId: string | number, query: GetRunQuery = {}, options?: CallOptions): Promise<Run> {
    const bounded = this.withDeadline(options);
    const params = (token?: string): URLSearchParams => {
      const p = new URLSearchParams({ run_id: String(runId) });
      if (query.include_history !== undefined) p.set('include_history', String(query.include_history));
      if (query.include_resolved_values !== undefined)
        p.set('include_resolved_values', String(query.include_resolved_values));
      if (token) p.set('page_token', token);
      return p;
    };
    const spec = {
      method: 'GET',
      path: '/api/2.2/jobs/runs/get',
      idempotency: 'idempotent',
      schema: RunSchema,
    } as const;
    const first = await this.request({ ...spec, query: params() }, bounded);
    const merged: Record<string, unknown> = { ...first };
    const arrays = ['tasks', 'job_clusters', 'job_parameters', 'repair_history'] as const;
    let token = first.next_page_token || undefined;
    for (let pages = 1; token !== undefined; pages++) {
      if (pages >= MAX_RUN_PAGES)
        throw new DatabricksResponseError('GET /api/2.2/jobs/runs/get', 'too many pages');
      const page: Record<string, unknown> = await this.request({ ...spec, query: params(token) }, bounded);
      for (const key of arrays) {
        const more = page[key];
        if (Array.isArray(more)) merged[key] = [...((merged[key] as unknown[] | undefined) ?? []), ...more];
      }
      const next = (page.next_page_token as string | undefined) || undefined;
      if (next === token)
        throw new DatabricksResponseError('GET /api/2.2/jobs/runs/get', 'next_page_token repeats');
      token = next;
    }
    delete merged.next_page_token;
    merged.has_more = false;
    return merged as Run;
  }

  /**
   * `POST /api/2.2/jobs/runs/repair`. Pass the previous `repair_id` as `latest_repair_id` for every
   * repair after the first, or Databricks answers 400 INVALID_PARAMETER_VALUE.
   */
  async repairRun(request: RepairRunRequest, options?: CallOptions): Promise<RepairRunResponse> {
    const body = {
      ...request,
      run_id: int64(request.run_id, 'run_id'),
      ...(request.latest_repair_id === undefined
        ? {}
        : { latest_repair_id: int64(request.latest_repair_id, 'latest_repair_id') }),
    };
    return this.request(
      {
        method: 'POST',
        path: '/api/2.2/jobs/runs/repair',
        body,
        idempotency: 'mutating',
        schema: RepairRunResponseSchema,
      },
      options,
    );
  }

  /** `POST /api/2.2/jobs/run-now`, always with an `idempotency_token` so that retries cannot launch twice. */
  async runNow(request: RunNowRequest, options?: CallOptions): Promise<RunNowResult> {
    const token = request.idempotency_token ?? crypto.randomUUID();
    if (token.length > 64)
      throw new ValidationError('invalid request', ['idempotency_token: must be at most 64 characters']);
    const body = { ...request, job_id: int64(request.job_id, 'job_id'), idempotency_token: token };
    const result = await this.request(
      {
        method: 'POST',
        path: '/api/2.2/jobs/run-now',
        body,
        idempotency: 'idempotent',
        schema: RunNowResponseSchema,
      },
      options,
    );
    return { ...result, idempotency_token: token };
  }

  // ---- transport ----

  private async mutate(path: string, body: unknown, options: CallOptions | undefined): Promise<void> {
    await this.request(
      { method: 'POST', path, body, idempotency: 'mutating', schema: EmptyResponseSchema },
      options,
    );
  }

  private withDeadline(options: CallOptions | undefined): CallOptions {
    return { ...options, deadline: options?.deadline ?? this.clock.now() + this.defaultTimeoutMs };
  }

  /** One logical call: attempts, classification, backoff, all before the deadline. */
  private async request<S extends z.ZodMiniType>(
    spec: RequestSpec<S>,
    options: CallOptions | undefined,
  ): Promise<z.output<S>> {
    const operation = `${spec.method} ${spec.path}`;
    const deadline = options?.deadline ?? this.clock.now() + this.defaultTimeoutMs;
    const url = `${this.host}${spec.path}${spec.query && [...spec.query].length > 0 ? `?${spec.query}` : ''}`;
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    let reauthenticated = false;
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - this.clock.now();
      if (remaining <= 0)
        throw this.annotate(new DatabricksDeadlineExceededError(operation, deadline, lastError), attempt - 1);
      try {
        return await this.attempt(
          spec,
          operation,
          url,
          body,
          Math.min(this.attemptTimeoutMs, remaining),
          options?.signal,
        );
      } catch (error) {
        if (options?.signal?.aborted) throw error;
        lastError = error;
        if (error instanceof DatabricksTimeoutError && this.clock.now() >= deadline) {
          throw this.annotate(new DatabricksDeadlineExceededError(operation, deadline, error), attempt);
        }
        if (error instanceof DatabricksUnauthenticatedError && !reauthenticated) {
          // A token revoked or expired early: drop what is cached and try once more at once.
          reauthenticated = true;
          this.auth.invalidate(rejectedCredentials.get(error));
          continue;
        }
        const maxAttempts =
          error instanceof DatabricksThrottledError && options?.throttledAttempts !== undefined
            ? Math.min(options.throttledAttempts, this.policy.maxAttempts)
            : this.policy.maxAttempts;
        if (!isRetryable(error, spec.idempotency) || attempt >= maxAttempts) {
          throw this.annotate(error, attempt);
        }
        const delay = retryDelay(attempt, error, this.policy, this.random);
        if (this.clock.now() + delay >= deadline) throw this.annotate(error, attempt);
        this.logger?.warn('retrying Databricks call', {
          operation,
          attempt,
          delayMs: delay,
          error: error instanceof Error ? error.name : 'unknown',
          ...(error instanceof DatabricksError && 'errorCode' in error ? { errorCode: error.errorCode } : {}),
        });
        await this.clock.sleep(delay, options?.signal);
      }
    }
  }

  private async attempt<S extends z.ZodMiniType>(
    spec: RequestSpec<S>,
    operation: string,
    url: string,
    body: string | undefined,
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
  ): Promise<z.output<S>> {
    const timeout = AbortSignal.timeout(Math.max(0, Math.ceil(timeoutMs)));
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    let status: number;
    let text: string;
    let response: Response;
    let authorization: string | undefined;
    try {
      authorization = await this.auth.authorization({ signal });
      response = await this.fetchImpl(url, {
        method: spec.method,
        headers: {
          authorization,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body }),
        signal,
        redirect: 'error',
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (timeout.aborted) throw new DatabricksTimeoutError(operation, timeoutMs);
      if (isNetworkFailure(error)) throw toConnectionError(operation, error);
      throw error;
    }
    if (status < 200 || status >= 300) {
      const error = toApiError(
        {
          status,
          statusText: response.statusText,
          retryAfter: response.headers.get('retry-after'),
          body: text,
          operation,
        },
        this.clock.now(),
      );
      if (error instanceof DatabricksUnauthenticatedError && authorization !== undefined)
        rejectedCredentials.set(error, authorization);
      throw error;
    }
    let json: unknown;
    try {
      json = text.trim() === '' ? {} : parseResponseJson(text);
    } catch (error) {
      throw new DatabricksResponseError(operation, (error as Error).message);
    }
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success)
      throw new DatabricksResponseError(operation, 'schema mismatch', describeIssues(parsed.error));
    return parsed.data;
  }

  private annotate(error: unknown, attempts: number): unknown {
    if (error instanceof DatabricksError) error.attempts = attempts;
    return error;
  }
}

/**
 * The credential a 401 (or a 403 "Invalid access token.") rejected, so that only that one is dropped
 * when many requests fail together.
 * Kept beside the error, never on it, so that logging an error can never print a token.
 */
const rejectedCredentials = new WeakMap<object, string>();

/** Codes meaning the connection was never established, so the server cannot have seen the request. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Whether fetch failed on the network (`fetch failed`, or `terminated` when the body was cut off),
 * as opposed to a programming error, which must not be mistaken for a retryable outage.
 */
function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false;
  return (
    error.message === 'fetch failed' ||
    error.message === 'terminated' ||
    typeof (error.cause as { code?: unknown })?.code === 'string'
  );
}

function toConnectionError(operation: string, error: unknown): DatabricksConnectionError {
  let code: string | undefined;
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const candidate = (current as { code?: unknown }).code;
    if (typeof candidate === 'string') {
      code = candidate;
      break;
    }
    current = current.cause;
  }
  // AggregateError (several addresses tried) carries the codes on its members.
  if (code === undefined && error instanceof Error && error.cause instanceof AggregateError) {
    const member = error.cause.errors.find(
      (e: unknown) => typeof (e as { code?: unknown }).code === 'string',
    );
    code = (member as { code?: string } | undefined)?.code;
  }
  return new DatabricksConnectionError(
    operation,
    code,
    code === undefined || !NOT_SENT_CODES.has(code),
    error,
  );
}
