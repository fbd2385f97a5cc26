/**
 * The simulated workspace's data: clusters, their events, jobs, runs and repairs, the constants
 * Databricks fixes, and the small rules over a cluster's configuration every part of the model uses.
 * `WorkspaceModel` holds the state the parts share (see workspace.ts for how they compose).
 */
import type { SimClock } from './clock.ts';
import { invalidParameter, SimApiError } from './errors.ts';
import type { Faults } from './faults.ts';
import { HarmLedger } from './harms.ts';
import { Policies } from './policies.ts';
import { Pools } from './pools.ts';
import { SimRandom } from './random.ts';
import { type Scenario, type SeedableState, type TaskSeed, type Timings, TimingsSchema } from './scenario.ts';
import { Timeline } from './timeline.ts';

export type ClusterState = SeedableState;
export type Json = Record<string, unknown>;

export interface Reason {
  readonly code: string;
  readonly type: string;
  readonly parameters?: Readonly<Record<string, string>>;
}

export type ClusterAction =
  | { readonly kind: 'running'; readonly cause: 'start' | 'restart' }
  | { readonly kind: 'resized'; readonly from: number; readonly to: number }
  | { readonly kind: 'terminating'; readonly reason: Reason }
  | { readonly kind: 'terminated' };

export interface SimEvent {
  readonly seq: number;
  readonly timestamp: number;
  readonly type: string;
  readonly details: Json;
}

export interface SimCluster {
  readonly seq: number;
  readonly id: string;
  readonly source: string;
  readonly creator: string;
  readonly startTime: number;
  state: ClusterState;
  stateMessage: string;
  /** The user-specified configuration (what `edit` replaces and `spec` shows). */
  config: Json;
  terminatedTime?: number;
  lastStateLossTime?: number;
  /** Shown only once the cluster has been (re)started: real clusters often lack it. */
  lastRestartedTime?: number;
  /** When it last came up (what the driver's health is measured from). */
  runningSince?: number;
  /** No state loss since it came up, or a DRIVER_HEALTHY after the last one. */
  driverHealthy: boolean;
  lastActivityTime?: number;
  /** Permanently deleted: gone from every endpoint. */
  gone: boolean;
  sparkContextId: string;
  terminationReason?: Reason;
  pinned: boolean;
  /** Workers actually acquired (num_workers is only the desired count). */
  currentWorkers: number;
  events: SimEvent[];
  /** Identifies the transition currently scheduled; stale heap entries carry another one. */
  transition: number;
  nextAction?: ClusterAction;
  driverTransition: number;
  idleTransition: number;
}

export interface SimTask {
  runId: string;
  readonly taskKey: string;
  readonly seed: TaskSeed;
  lifeCycle: string;
  result?: string;
  attempt: number;
  startTime: number;
  endTime: number;
  clusterInstance?: { cluster_id: string; spark_context_id?: string };
  termination?: { code: string; type: string; message?: string };
}

export interface SimRepair {
  readonly id: string;
  readonly type: 'ORIGINAL' | 'REPAIR';
  readonly startTime: number;
  endTime: number;
  lifeCycle: string;
  result?: string;
  readonly taskRunIds: string[];
}

export interface SimRun {
  readonly id: string;
  readonly job: SimJob;
  readonly numberInJob: number;
  readonly startTime: number;
  endTime: number;
  lifeCycle: string;
  result?: string;
  stateMessage: string;
  tasks: SimTask[];
  termination?: { code: string; type: string; message?: string };
  repairs: SimRepair[];
  transition: number;
  /** Job clusters this run created, by `job_cluster_key` (or task key for a `new_cluster`). */
  readonly jobClusters: Map<string, string>;
}

export interface SimJob {
  readonly id: string;
  readonly name: string;
  readonly tasks: readonly TaskSeed[];
  readonly jobClusters: readonly Json[];
  nextNumber: number;
  readonly tokens: Map<string, string>;
}

/** Attributes Databricks computes; a seed may set their starting value but `edit` cannot change them. */
export const READ_ONLY = new Set([
  'cluster_id',
  'state',
  'state_message',
  'start_time',
  'terminated_time',
  'terminated_ago_ms',
  'last_state_loss_time',
  'last_restarted_time',
  'last_activity_time',
  'spark_context_id',
  'termination_reason',
  'cluster_source',
  'creator_user_name',
  'pinned',
  'default_tags',
  'driver',
  'executors',
  'spec',
  'cluster_memory_mb',
  'cluster_cores',
  'jdbc_port',
]);

export const STATE_WORDS: Record<ClusterState, string> = {
  PENDING: 'Pending',
  RUNNING: 'Running',
  RESTARTING: 'Restarting',
  RESIZING: 'Resizing',
  TERMINATING: 'Terminating',
  TERMINATED: 'Terminated',
};
export const FAILED_RESULTS = new Set(['FAILED', 'TIMEDOUT', 'CANCELED', 'UPSTREAM_FAILED']);
export const TERMINAL_LIFE_CYCLES = new Set(['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR']);

/** `clusters/get` (and every other call) knows a terminated cluster this long (api-facts §2.3). */
export const GET_RETENTION_MS = 60 * 86_400_000;
export const MAX_EVENTS_PER_CLUSTER = 1_000;
export const USER = 'rca-simulator@example.com';

export function autoterminationMs(config: Json): number {
  const minutes = config.autotermination_minutes;
  return typeof minutes === 'number' && minutes > 0 ? minutes * 60_000 : 0;
}

export function desiredWorkers(config: Json): number {
  if (typeof config.num_workers === 'number') return config.num_workers;
  const autoscale = config.autoscale as Json | undefined;
  return typeof autoscale?.min_workers === 'number' ? autoscale.min_workers : 0;
}

/** A cluster configuration without its size (`num_workers`, `autoscale`). */
export function withoutSize(config: Json): Json {
  const { num_workers: _workers, autoscale: _autoscale, ...rest } = config;
  return rest;
}

export function clusterSize(config: Json): Json {
  return config.autoscale ? { autoscale: config.autoscale } : { num_workers: desiredWorkers(config) };
}

export function nodeTypes(config: Json): string[] {
  return [config.node_type_id, config.driver_node_type_id].filter((v): v is string => typeof v === 'string');
}

export function reasonJson(reason: Reason): Json {
  return {
    code: reason.code,
    type: reason.type,
    ...(reason.parameters ? { parameters: { ...reason.parameters } } : {}),
  };
}

export function terminationMessage(reason: Reason): string {
  switch (reason.code) {
    case 'INACTIVITY':
      return `Inactive cluster terminated (inactive for ${reason.parameters?.inactivity_duration_min ?? '120'} minutes).`;
    case 'USER_REQUEST':
      return 'Terminated by user';
    case 'JOB_FINISHED':
      return 'Job finished';
    default:
      return reason.parameters?.databricks_error_message ?? `Cluster terminated. Reason: ${reason.code}`;
  }
}

/** Termination details of a seeded task outcome that names none. */
export function defaultTaskTermination(result: string): { code: string; type: string; message?: string } {
  switch (result) {
    case 'SUCCESS':
      return { code: 'SUCCESS', type: 'SUCCESS', message: '' };
    case 'UPSTREAM_FAILED':
      return { code: 'SKIPPED', type: 'CLIENT_ERROR', message: 'An upstream task failed.' };
    case 'CANCELED':
      return { code: 'CANCELED', type: 'SUCCESS', message: 'Run was cancelled.' };
    default:
      return {
        code: 'RUN_EXECUTION_ERROR',
        type: 'CLIENT_ERROR',
        message: 'Workload failed, see run output for details.',
      };
  }
}

/** Cluster- and platform-caused failures end in INTERNAL_ERROR, workload failures in TERMINATED. */
export function taskLifeCycle(result: string, code: string): string {
  if (result === 'UPSTREAM_FAILED') return 'SKIPPED';
  return ['DRIVER_ERROR', 'CLUSTER_ERROR', 'CLOUD_FAILURE', 'INTERNAL_ERROR'].includes(code)
    ? 'INTERNAL_ERROR'
    : 'TERMINATED';
}

export function defaultRunFailure(tasks: readonly SimTask[]): {
  code: string;
  type: string;
  message: string;
} {
  const failed = tasks.find((t) => FAILED_RESULTS.has(t.result ?? ''));
  if (failed?.termination) return { ...failed.termination, message: failed.termination.message ?? '' };
  return {
    code: 'RUN_EXECUTION_ERROR',
    type: 'CLIENT_ERROR',
    message: `Task ${failed?.taskKey ?? ''} failed with message: Workload failed, see run output for details.`,
  };
}

export interface WorkspaceOptions {
  readonly clock: SimClock;
  readonly faults: Faults;
  readonly seed?: number;
  /** Base URL, for `run_page_url`. */
  readonly baseUrl?: string;
}

/** The state the model's parts share, and the reads every part needs. */
export class WorkspaceModel {
  readonly clock: SimClock;
  readonly faults: Faults;
  random: SimRandom;
  timings: Timings = TimingsSchema.parse({});
  readonly clusters = new Map<string, SimCluster>();
  /** Every cluster in creation order (ascending `seq`): list pages are slices of it. */
  ordered: SimCluster[] = [];
  readonly jobs = new Map<string, SimJob>();
  readonly runs = new Map<string, SimRun>();
  readonly timeline = new Timeline();
  clusterSeq = 0;
  private eventSeq = 0;
  private nextId = 900_000_000_000;
  readonly pools = new Pools();
  readonly policies = new Policies();
  limits: Scenario['limits'];
  /** Simulated times of the cluster launches in the last minute (for `limits`). */
  launches: number[] = [];
  /** Harms judged on API calls; kept across `reset` (it is the record of what callers did). */
  readonly harms = new HarmLedger();
  baseUrl: string;

  constructor(options: WorkspaceOptions) {
    this.clock = options.clock;
    this.faults = options.faults;
    this.random = new SimRandom(options.seed ?? 1);
    this.baseUrl = options.baseUrl ?? 'http://127.0.0.1';
  }

  reset(): void {
    this.clusters.clear();
    this.ordered = [];
    this.jobs.clear();
    this.runs.clear();
    this.timeline.clear();
    this.timings = TimingsSchema.parse({});
    this.pools.clear();
    this.policies.clear();
    this.limits = undefined;
    this.launches = [];
  }

  newId(): string {
    this.nextId += 1 + this.random.int(1000);
    return String(this.nextId);
  }

  record(cluster: SimCluster, timestamp: number, type: string, details: Json): void {
    cluster.events.push({ seq: ++this.eventSeq, timestamp, type, details });
    if (cluster.events.length > MAX_EVENTS_PER_CLUSTER)
      cluster.events.splice(0, cluster.events.length - MAX_EVENTS_PER_CLUSTER);
  }

  requireCluster(id: unknown): SimCluster {
    if (typeof id !== 'string' || id === '') throw invalidParameter('Missing required field: cluster_id');
    const cluster = this.clusters.get(id);
    if (!cluster || !this.known(cluster, this.clock.now()))
      throw invalidParameter(`Cluster ${id} does not exist`);
    return cluster;
  }

  /** Not permanently deleted, and (unless pinned) terminated less than 60 days ago. */
  private known(cluster: SimCluster, now: number): boolean {
    if (cluster.gone) return false;
    return (
      cluster.pinned ||
      cluster.state !== 'TERMINATED' ||
      (cluster.terminatedTime ?? now) > now - GET_RETENTION_MS
    );
  }

  unexpectedState(cluster: SimCluster): SimApiError {
    return new SimApiError(
      400,
      'INVALID_STATE',
      `Cluster ${cluster.id} is in unexpected state ${STATE_WORDS[cluster.state]}.`,
    );
  }

  /** The node types a cluster runs on (a pool's, for a pool cluster). */
  nodeTypesOf(cluster: SimCluster): string[] {
    return nodeTypes({ ...cluster.config, ...this.pools.nodeTypes(cluster.config) });
  }
}

/** A run's original attempt, as `repair_history` lists it. */
export function originalAttempt(
  id: string,
  start: number,
  end: number,
  lifeCycle: string,
  result: string | undefined,
  tasks: readonly SimTask[],
): SimRepair {
  return {
    id,
    type: 'ORIGINAL',
    startTime: start,
    endTime: end,
    lifeCycle,
    ...(result ? { result } : {}),
    taskRunIds: tasks.map((t) => t.runId),
  };
}
