/**
 * The Databricks REST client every Lambda uses: typed calls for clusters (API 2.1) and jobs
 * (API 2.2), zod-validated answers that tolerate unknown fields, int64 ids kept exact, errors
 * mapped the way Databricks really sends them, and retries under an absolute deadline.
 *
 * Request and response objects use the REST API's own field names (snake_case) so that they can
 * be compared with Databricks' documentation line by line.
 */

import { ValidationError } from '../core/errors.ts';
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
import { DatabricksResponseError } from './errors.ts';
import { type CallOptions, Transport, type TransportOptions } from './transport.ts';

export type DatabricksClientOptions = TransportOptions;

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

export class DatabricksClient extends Transport {
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
    return this.get('/api/2.1/clusters/list', params, ListClustersResponseSchema, options);
  }

  /** `GET /api/2.1/clusters/get`. A missing cluster throws DatabricksNotFoundError. */
  async getCluster(clusterId: string, options?: CallOptions): Promise<ClusterDetails> {
    return this.get('/api/2.1/clusters/get', { cluster_id: clusterId }, ClusterDetailsSchema, options);
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
    return this.get('/api/2.0/policies/clusters/get', { policy_id: policyId }, ClusterPolicySchema, options);
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
    const path = '/api/2.2/jobs/runs/get';
    const first = await this.get(path, params(), RunSchema, bounded);
    const merged: Record<string, unknown> = { ...first };
    const arrays = ['tasks', 'job_clusters', 'job_parameters', 'repair_history'] as const;
    let token = first.next_page_token || undefined;
    for (let pages = 1; token !== undefined; pages++) {
      if (pages >= MAX_RUN_PAGES) throw new DatabricksResponseError(`GET ${path}`, 'too many pages');
      const page: Record<string, unknown> = await this.get(path, params(token), RunSchema, bounded);
      for (const key of arrays) {
        const more = page[key];
        if (Array.isArray(more)) merged[key] = [...((merged[key] as unknown[] | undefined) ?? []), ...more];
      }
      const next = (page.next_page_token as string | undefined) || undefined;
      if (next === token) throw new DatabricksResponseError(`GET ${path}`, 'next_page_token repeats');
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

  /** An idempotent GET. */
  private get<S extends z.ZodMiniType>(
    path: string,
    query: URLSearchParams | Readonly<Record<string, string>>,
    schema: S,
    options: CallOptions | undefined,
  ): Promise<z.output<S>> {
    return this.request(
      { method: 'GET', path, query: new URLSearchParams(query), idempotency: 'idempotent', schema },
      options,
    );
  }

  private async mutate(path: string, body: unknown, options: CallOptions | undefined): Promise<void> {
    await this.request(
      { method: 'POST', path, body, idempotency: 'mutating', schema: EmptyResponseSchema },
      options,
    );
  }
}
