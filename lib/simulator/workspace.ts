/**
 * The simulated workspace: clusters with Databricks' state machine, their event log, jobs, runs and
 * repairs. Pure in-memory model with no HTTP; the server maps its errors to Databricks' error bodies.
 *
 * Transitions (PENDING → RUNNING after `startMs`, …) are not timers: they sit in a min-heap keyed by
 * simulated time and are applied by `tick()`, which the server calls before every request. Events
 * carry the time the transition was due, so a sped-up or manually advanced clock gives the same
 * history as real time would.
 */
import { CLUSTER_SOURCES, CLUSTER_STATES } from '../../functions/core/schemas/common.ts';
import type { SimClock } from './clock.ts';
import { invalidParameter, SimApiError } from './errors.ts';
import type { Faults } from './faults.ts';
import { type CallOrigin, type ClusterFacts, HarmLedger, judge, type MutatingCall } from './harms.ts';
import { listJobs, listRuns } from './job-lists.ts';
import { idValue, rawNumber } from './json.ts';
import { decodeToken, encodeToken, optionalMillis } from './paging.ts';
import { Policies } from './policies.ts';
import { drawsFromPool, isPoolCluster, Pools, poolNodeTypeConflict } from './pools.ts';
import { clusterIdAt, SimRandom } from './random.ts';
import {
  type ClusterSeed,
  type GenerateSpec,
  type JobSeed,
  type Scenario,
  type SeedableState,
  type TaskSeed,
  type TerminationReasonSeed,
  type Timings,
  TimingsSchema,
} from './scenario.ts';

type ClusterState = SeedableState;
type Json = Record<string, unknown>;

interface Reason {
  readonly code: string;
  readonly type: string;
  readonly parameters?: Readonly<Record<string, string>>;
}

type ClusterAction =
  | { readonly kind: 'running'; readonly cause: 'start' | 'restart' }
  | { readonly kind: 'resized'; readonly from: number; readonly to: number }
  | { readonly kind: 'terminating'; readonly reason: Reason }
  | { readonly kind: 'terminated' };

interface SimEvent {
  readonly seq: number;
  readonly timestamp: number;
  readonly type: string;
  readonly details: Json;
}

interface SimCluster {
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

interface SimTask {
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

interface SimRepair {
  readonly id: string;
  readonly type: 'ORIGINAL' | 'REPAIR';
  readonly startTime: number;
  endTime: number;
  lifeCycle: string;
  result?: string;
  readonly taskRunIds: string[];
}

interface SimRun {
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

interface SimJob {
  readonly id: string;
  readonly name: string;
  readonly tasks: readonly TaskSeed[];
  readonly jobClusters: readonly Json[];
  nextNumber: number;
  readonly tokens: Map<string, string>;
}

type HeapEntry =
  | { at: number; order: number; kind: 'cluster'; id: string; transition: number }
  | { at: number; order: number; kind: 'driver'; id: string; transition: number }
  | { at: number; order: number; kind: 'idle'; id: string; transition: number }
  | { at: number; order: number; kind: 'run'; id: string; transition: number };

/** Attributes Databricks computes; a seed may set their starting value but `edit` cannot change them. */
const READ_ONLY = new Set([
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

const STATE_WORDS: Record<ClusterState, string> = {
  PENDING: 'Pending',
  RUNNING: 'Running',
  RESTARTING: 'Restarting',
  RESIZING: 'Resizing',
  TERMINATING: 'Terminating',
  TERMINATED: 'Terminated',
};
const CLUSTER_STATE_NAMES: ReadonlySet<string> = new Set(CLUSTER_STATES);
const CLUSTER_SOURCE_NAMES: ReadonlySet<string> = new Set(CLUSTER_SOURCES);
const FAILED_RESULTS = new Set(['FAILED', 'TIMEDOUT', 'CANCELED', 'UPSTREAM_FAILED']);
const TERMINAL_LIFE_CYCLES = new Set(['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR']);

/** Clusters terminated longer ago than this are no longer listed (unless pinned). */
const LIST_RETENTION_MS = 30 * 86_400_000;
/** `clusters/get` (and every other call) knows a terminated cluster this long (api-facts §2.3). */
const GET_RETENTION_MS = 60 * 86_400_000;
const LIST_PAGE_MAX = 100;
const EVENTS_PAGE_DEFAULT = 50;
const EVENTS_PAGE_MAX = 500;
const RUN_ARRAY_PAGE = 100;
const MAX_EVENTS_PER_CLUSTER = 1_000;
const USER = 'rca-simulator@example.com';

export interface WorkspaceOptions {
  readonly clock: SimClock;
  readonly faults: Faults;
  readonly seed?: number;
  /** Base URL, for `run_page_url`. */
  readonly baseUrl?: string;
}

export interface LoadResult {
  readonly clusters: number;
  readonly jobs: number;
  readonly runs: number;
}

export class Workspace {
  private readonly clock: SimClock;
  private readonly faults: Faults;
  private random: SimRandom;
  private timings: Timings = TimingsSchema.parse({});
  private readonly clusters = new Map<string, SimCluster>();
  /** Every cluster in creation order (ascending `seq`): list pages are slices of it. */
  private ordered: SimCluster[] = [];
  private readonly jobs = new Map<string, SimJob>();
  private readonly runs = new Map<string, SimRun>();
  private heap: HeapEntry[] = [];
  private order = 0;
  private clusterSeq = 0;
  private eventSeq = 0;
  private nextId = 900_000_000_000;
  private readonly pools = new Pools();
  private readonly policies = new Policies();
  private limits: Scenario['limits'];
  /** Simulated times of the cluster launches in the last minute (for `limits`). */
  private launches: number[] = [];
  /** Harms judged on API calls; kept across `reset` (it is the record of what callers did). */
  readonly harms = new HarmLedger();
  baseUrl: string;

  constructor(options: WorkspaceOptions) {
    this.clock = options.clock;
    this.faults = options.faults;
    this.random = new SimRandom(options.seed ?? 1);
    this.baseUrl = options.baseUrl ?? 'http://127.0.0.1';
  }

  // ---------------------------------------------------------------- scenario

  reset(): void {
    this.clusters.clear();
    this.ordered = [];
    this.jobs.clear();
    this.runs.clear();
    this.heap = [];
    this.timings = TimingsSchema.parse({});
    this.pools.clear();
    this.policies.clear();
    this.limits = undefined;
    this.launches = [];
  }

  /** Adds a scenario's clusters and jobs (ids already present are rejected) and applies its timings and faults. */
  load(scenario: Scenario): LoadResult {
    if (scenario.seed !== undefined) this.random = new SimRandom(scenario.seed);
    if (scenario.timings) this.timings = { ...this.timings, ...scenario.timings };
    if (scenario.limits) this.limits = scenario.limits;
    for (const pool of scenario.pools) this.pools.add(pool);
    for (const policy of scenario.policies) this.policies.add(policy, this.clock.now());
    let clusters = 0;
    let runs = 0;
    scenario.clusters.forEach((seed, index) => {
      if (seed.cluster_id !== undefined && this.clusters.has(seed.cluster_id)) {
        throw invalidParameter(`clusters.${index}.cluster_id: cluster ${seed.cluster_id} already exists`);
      }
    });
    for (const seed of scenario.clusters) {
      this.addCluster(seed);
      clusters++;
    }
    for (const spec of scenario.generate) clusters += this.generate(spec);
    for (const job of scenario.jobs) runs += this.addJob(job);
    if (scenario.faults) this.faults.set(scenario.faults);
    return { clusters, jobs: scenario.jobs.length, runs };
  }

  currentTimings(): Timings {
    return this.timings;
  }

  private generate(spec: GenerateSpec): number {
    for (let i = 0; i < spec.count; i++) {
      const state = this.random.weighted(spec.states);
      const source = this.random.weighted(spec.sources);
      const n = this.ordered.length + 1;
      this.addCluster(
        {
          cluster_name: source === 'JOB' ? `job-${100_000 + n}-run-${1_000 + n}` : `${spec.namePrefix}-${n}`,
          state,
          cluster_source: source,
          spark_version: '15.4.x-scala2.12',
          node_type_id: this.random.pick(spec.nodeTypeIds),
          num_workers: spec.numWorkers,
          ...(spec.availability
            ? { aws_attributes: { availability: spec.availability, first_on_demand: 1 } }
            : {}),
          ...(state === 'TERMINATED' || state === 'TERMINATING'
            ? { termination_reason: this.random.pick(spec.terminationReasons) }
            : {}),
        } as ClusterSeed,
        true,
      );
    }
    return spec.count;
  }

  /**
   * `restarted`: a generated cluster came up after its creation by a (re)start, so it shows
   * `last_restarted_time`; a seed shows it only when it gives one.
   */
  private addCluster(seed: ClusterSeed, restarted = false): SimCluster {
    const now = this.clock.now();
    const id = seed.cluster_id ?? this.uniqueClusterId(now);
    const config: Json = {};
    for (const [key, value] of Object.entries(seed)) if (!READ_ONLY.has(key)) config[key] = value;
    config.cluster_name ??= id;
    if (!isPoolCluster(config)) config.node_type_id ??= 'i3.xlarge';
    const startTime = seed.start_time ?? now - 86_400_000 - this.random.int(30 * 86_400_000);
    const running = seed.state !== 'TERMINATED';
    const ended = seed.state === 'TERMINATED' || seed.state === 'TERMINATING';
    // A terminated cluster ran for a few hours before it ended; a running one came up within a day.
    const terminatedAt =
      seed.state === 'TERMINATED'
        ? (seed.terminated_time ??
          (seed.terminated_ago_ms === undefined
            ? now - 60_000 - this.random.int(6 * 3_600_000)
            : now - seed.terminated_ago_ms))
        : now;
    const defaultStart = Math.max(
      startTime + this.timings.startMs,
      terminatedAt - (ended ? 3_600_000 + this.random.int(4 * 3_600_000) : this.random.int(86_400_000)),
    );
    const lastStart =
      seed.last_restarted_time ?? seed.last_state_loss_time ?? Math.min(defaultStart, terminatedAt);
    const cluster: SimCluster = {
      seq: ++this.clusterSeq,
      id,
      source: seed.cluster_source,
      creator: seed.creator_user_name ?? USER,
      startTime,
      state: seed.state,
      stateMessage: '',
      config,
      sparkContextId: seed.spark_context_id ?? this.random.int64(),
      pinned: seed.pinned ?? false,
      currentWorkers: running ? desiredWorkers(config) : 0,
      events: [],
      transition: 0,
      driverTransition: 0,
      idleTransition: 0,
      driverHealthy: true,
      gone: false,
    };
    if (seed.last_restarted_time !== undefined) cluster.lastRestartedTime = seed.last_restarted_time;
    else if (restarted && seed.state !== 'PENDING') cluster.lastRestartedTime = lastStart;
    if (seed.state !== 'PENDING') {
      cluster.runningSince = lastStart;
      cluster.lastStateLossTime = seed.last_state_loss_time ?? lastStart;
      // A loss after it came up with no DRIVER_HEALTHY since: the driver is not (yet) healthy.
      cluster.driverHealthy = cluster.lastStateLossTime <= lastStart;
      // A cluster that ended was in use until then; an INACTIVITY reason says otherwise by itself.
      cluster.lastActivityTime = seed.last_activity_time ?? (ended ? terminatedAt : now);
    }
    this.clusters.set(id, cluster);
    this.ordered.push(cluster);
    // A short plausible history, so that events and pollers have something to read.
    this.record(cluster, startTime, 'CREATING', { user: cluster.creator, cluster_size: clusterSize(config) });
    if (seed.state !== 'PENDING') {
      this.record(cluster, Math.max(startTime, lastStart), 'RUNNING', {
        current_num_workers: desiredWorkers(config),
        target_num_workers: desiredWorkers(config),
      });
    }
    switch (seed.state) {
      case 'PENDING':
        cluster.stateMessage = 'Finding instances for new nodes, acquiring more instances if necessary';
        this.schedule(cluster, now + this.timings.startMs, { kind: 'running', cause: 'start' });
        break;
      case 'RESTARTING':
        this.schedule(cluster, now + this.timings.restartMs, { kind: 'running', cause: 'restart' });
        break;
      case 'RESIZING':
        this.schedule(cluster, now + this.timings.resizeMs, {
          kind: 'resized',
          from: cluster.currentWorkers,
          to: cluster.currentWorkers,
        });
        break;
      case 'TERMINATING':
      case 'TERMINATED': {
        const reason = seed.termination_reason ?? {
          code: 'USER_REQUEST',
          type: 'SUCCESS',
          parameters: { username: cluster.creator },
        };
        cluster.terminationReason = reason;
        cluster.stateMessage = terminationMessage(reason);
        const terminatingAt = seed.state === 'TERMINATED' ? terminatedAt - this.timings.terminateMs : now;
        this.record(cluster, Math.max(lastStart, terminatingAt), 'TERMINATING', {
          reason: reasonJson(reason),
        });
        if (seed.state === 'TERMINATED') {
          cluster.terminatedTime = terminatedAt;
          cluster.currentWorkers = 0;
        } else {
          this.schedule(cluster, now + this.timings.terminateMs, { kind: 'terminated' });
        }
        break;
      }
      case 'RUNNING':
        this.scheduleIdleCheck(cluster);
        break;
    }
    return cluster;
  }

  private uniqueClusterId(now: number): string {
    for (;;) {
      const id = clusterIdAt(now, this.random);
      if (!this.clusters.has(id)) return id;
    }
  }

  private addJob(seed: JobSeed): number {
    if (this.jobs.has(seed.job_id)) throw invalidParameter(`job ${seed.job_id} already exists`);
    const job: SimJob = {
      id: seed.job_id,
      name: seed.name,
      tasks: seed.tasks,
      jobClusters: seed.job_clusters ?? [],
      nextNumber: 1,
      tokens: new Map(),
    };
    this.jobs.set(job.id, job);
    const now = this.clock.now();
    for (const runSeed of seed.runs) {
      if (this.runs.has(runSeed.run_id)) throw invalidParameter(`run ${runSeed.run_id} already exists`);
      const start = runSeed.start_time ?? now - 3_600_000;
      const end = runSeed.end_time ?? start + this.timings.runMs;
      const outcomes = new Map((runSeed.tasks ?? []).map((t) => [t.task_key, t]));
      const tasks: SimTask[] = seed.tasks.map((taskSeed) => {
        const outcome = outcomes.get(taskSeed.task_key);
        const result = outcome?.result_state ?? runSeed.result_state;
        const cluster = taskSeed.existing_cluster_id
          ? this.clusters.get(taskSeed.existing_cluster_id)
          : undefined;
        const termination = outcome?.termination_details ?? defaultTaskTermination(result);
        return {
          runId: outcome?.run_id ?? this.newId(),
          taskKey: taskSeed.task_key,
          seed: taskSeed,
          lifeCycle: taskLifeCycle(result, termination.code),
          result,
          attempt: 0,
          startTime: start,
          endTime: end,
          ...(taskSeed.existing_cluster_id
            ? {
                clusterInstance: {
                  cluster_id: taskSeed.existing_cluster_id,
                  ...(cluster ? { spark_context_id: cluster.sparkContextId } : {}),
                },
              }
            : {}),
          termination,
        };
      });
      const failed = tasks.some((t) => FAILED_RESULTS.has(t.result ?? ''));
      const result = failed ? 'FAILED' : 'SUCCESS';
      const lifeCycle = tasks.some((t) => t.lifeCycle === 'INTERNAL_ERROR') ? 'INTERNAL_ERROR' : 'TERMINATED';
      const run: SimRun = {
        id: runSeed.run_id,
        job,
        numberInJob: job.nextNumber++,
        startTime: start,
        endTime: end,
        lifeCycle,
        result,
        stateMessage: '',
        tasks,
        repairs: [this.originalAttempt(start, end, lifeCycle, result, tasks)],
        transition: 0,
        jobClusters: new Map(),
        ...(runSeed.termination_details
          ? { termination: runSeed.termination_details }
          : {
              termination: failed
                ? defaultRunFailure(tasks)
                : { code: 'SUCCESS', type: 'SUCCESS', message: '' },
            }),
      };
      this.runs.set(run.id, run);
      if (runSeed.idempotency_token) job.tokens.set(runSeed.idempotency_token, run.id);
    }
    return seed.runs.length;
  }

  private originalAttempt(
    start: number,
    end: number,
    lifeCycle: string,
    result: string | undefined,
    tasks: SimTask[],
  ): SimRepair {
    return {
      id: this.newId(),
      type: 'ORIGINAL',
      startTime: start,
      endTime: end,
      lifeCycle,
      ...(result ? { result } : {}),
      taskRunIds: tasks.map((t) => t.runId),
    };
  }

  private newId(): string {
    this.nextId += 1 + this.random.int(1000);
    return String(this.nextId);
  }

  // ---------------------------------------------------------------- time

  /** Applies every transition due by now, in time order. */
  tick(): void {
    const now = this.clock.now();
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > now) return;
      this.pop();
      if (top.kind === 'cluster') {
        const cluster = this.clusters.get(top.id);
        if (cluster && cluster.transition === top.transition && cluster.nextAction) {
          const action = cluster.nextAction;
          cluster.nextAction = undefined;
          this.apply(cluster, action, top.at);
        }
      } else if (top.kind === 'driver') {
        const cluster = this.clusters.get(top.id);
        if (cluster && cluster.driverTransition === top.transition && cluster.state === 'RUNNING') {
          cluster.driverHealthy = true;
          this.record(cluster, top.at, 'DRIVER_HEALTHY', {});
        }
      } else if (top.kind === 'idle') {
        const cluster = this.clusters.get(top.id);
        if (cluster && cluster.idleTransition === top.transition) this.idleCheck(cluster, top.at);
      } else {
        const run = this.runs.get(top.id);
        if (run && run.transition === top.transition) this.finishRun(run, top.at);
      }
    }
  }

  private schedule(cluster: SimCluster, at: number, action: ClusterAction): void {
    cluster.transition++;
    cluster.nextAction = action;
    this.push({ at, order: ++this.order, kind: 'cluster', id: cluster.id, transition: cluster.transition });
  }

  /** Autotermination: the cluster terminates once idle for `autotermination_minutes` (0 = never). */
  private scheduleIdleCheck(cluster: SimCluster): void {
    cluster.idleTransition++;
    const window = autoterminationMs(cluster.config);
    if (window === 0 || cluster.state !== 'RUNNING') return;
    this.push({
      at: (cluster.lastActivityTime ?? this.clock.now()) + window,
      order: ++this.order,
      kind: 'idle',
      id: cluster.id,
      transition: cluster.idleTransition,
    });
  }

  private idleCheck(cluster: SimCluster, at: number): void {
    if (cluster.state !== 'RUNNING' || cluster.gone) return;
    // A job task running on it is activity all along.
    if (this.activeTaskOn(cluster.id)) cluster.lastActivityTime = at;
    const window = autoterminationMs(cluster.config);
    if (window > 0 && at >= (cluster.lastActivityTime ?? at) + window) {
      this.cancelTransition(cluster);
      const minutes = String(cluster.config.autotermination_minutes);
      this.apply(
        cluster,
        {
          kind: 'terminating',
          reason: { code: 'INACTIVITY', type: 'SUCCESS', parameters: { inactivity_duration_min: minutes } },
        },
        at,
      );
      return;
    }
    this.scheduleIdleCheck(cluster);
  }

  private activeTaskOn(clusterId: string): boolean {
    for (const run of this.runs.values()) {
      if (TERMINAL_LIFE_CYCLES.has(run.lifeCycle)) continue;
      if (run.tasks.some((t) => t.lifeCycle === 'RUNNING' && t.clusterInstance?.cluster_id === clusterId))
        return true;
    }
    return false;
  }

  /** Something used the cluster (a command, a job task): its idle time starts again. */
  private touch(cluster: SimCluster, at: number): void {
    cluster.lastActivityTime = at;
    this.scheduleIdleCheck(cluster);
  }

  private cancelTransition(cluster: SimCluster): void {
    cluster.transition++;
    cluster.nextAction = undefined;
  }

  private apply(cluster: SimCluster, action: ClusterAction, at: number): void {
    switch (action.kind) {
      case 'running': {
        cluster.state = 'RUNNING';
        cluster.stateMessage = '';
        cluster.lastRestartedTime = at;
        cluster.runningSince = at;
        cluster.lastStateLossTime = at;
        cluster.driverHealthy = true;
        cluster.driverTransition++;
        cluster.sparkContextId = this.random.int64();
        cluster.currentWorkers = this.acquirableWorkers(cluster, desiredWorkers(cluster.config));
        this.record(cluster, at, 'RUNNING', {
          current_num_workers: cluster.currentWorkers,
          target_num_workers: desiredWorkers(cluster.config),
        });
        this.touch(cluster, at);
        break;
      }
      case 'resized': {
        cluster.state = 'RUNNING';
        cluster.stateMessage = '';
        if (action.to > action.from) {
          const reachable = this.acquirableWorkers(cluster, action.to);
          const shortage =
            reachable < action.to ? this.faults.unavailableReason(this.nodeTypesOf(cluster)) : undefined;
          cluster.currentWorkers = Math.max(action.from, reachable);
          this.record(cluster, at, 'UPSIZE_COMPLETED', {
            current_num_workers: cluster.currentWorkers,
            target_num_workers: action.to,
            ...(shortage ? { reason: reasonJson(shortage) } : {}),
          });
        } else {
          cluster.currentWorkers = action.to;
        }
        this.scheduleIdleCheck(cluster);
        break;
      }
      case 'terminating': {
        cluster.state = 'TERMINATING';
        cluster.terminationReason = action.reason;
        cluster.stateMessage = terminationMessage(action.reason);
        this.record(cluster, at, 'TERMINATING', {
          reason: reasonJson(action.reason),
          ...(action.reason.code === 'USER_REQUEST'
            ? { user: action.reason.parameters?.username ?? USER }
            : {}),
        });
        this.schedule(cluster, at + this.timings.terminateMs, { kind: 'terminated' });
        break;
      }
      case 'terminated':
        cluster.state = 'TERMINATED';
        cluster.terminatedTime = at;
        cluster.currentWorkers = 0;
        break;
    }
  }

  /** Workers a cluster can get now: none of an unavailable node type. */
  private acquirableWorkers(cluster: SimCluster, wanted: number): number {
    return this.faults.unavailableReason(this.nodeTypesOf(cluster)) ? 0 : wanted;
  }

  private record(cluster: SimCluster, timestamp: number, type: string, details: Json): void {
    cluster.events.push({ seq: ++this.eventSeq, timestamp, type, details });
    if (cluster.events.length > MAX_EVENTS_PER_CLUSTER)
      cluster.events.splice(0, cluster.events.length - MAX_EVENTS_PER_CLUSTER);
  }

  // ---------------------------------------------------------------- cluster policies API

  /** `GET /api/2.0/policies/clusters/get?policy_id=`. */
  getPolicy(query: URLSearchParams): Record<string, unknown> {
    return this.policies.get(query.get('policy_id') ?? undefined);
  }

  // ---------------------------------------------------------------- clusters API

  private requireCluster(id: unknown): SimCluster {
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

  private unexpectedState(cluster: SimCluster): SimApiError {
    return new SimApiError(
      400,
      'INVALID_STATE',
      `Cluster ${cluster.id} is in unexpected state ${STATE_WORDS[cluster.state]}.`,
    );
  }

  getCluster(id: unknown): Json {
    return this.render(this.requireCluster(id), true);
  }

  listClusters(query: URLSearchParams): Json {
    const pageSizeText = query.get('page_size');
    const pageSize = pageSizeText === null || pageSizeText === '' ? LIST_PAGE_MAX : Number(pageSizeText);
    if (!Number.isInteger(pageSize) || pageSize < 0)
      throw invalidParameter('page_size must be a non-negative integer');
    const size = pageSize === 0 ? LIST_PAGE_MAX : Math.min(pageSize, LIST_PAGE_MAX);
    const states = query.getAll('filter_by.cluster_states');
    const sources = query.getAll('filter_by.cluster_sources');
    for (const s of states)
      if (!CLUSTER_STATE_NAMES.has(s)) throw invalidParameter(`Invalid cluster state: ${s}`);
    for (const s of sources)
      if (!CLUSTER_SOURCE_NAMES.has(s)) throw invalidParameter(`Invalid cluster source: ${s}`);
    const pinnedText = query.get('filter_by.is_pinned');
    const policyId = query.get('filter_by.policy_id');
    const sortField = query.get('sort_by.field') ?? 'DEFAULT';
    const direction = query.get('sort_by.direction') ?? 'ASC';
    if (sortField !== 'DEFAULT' && sortField !== 'CLUSTER_NAME')
      throw invalidParameter(`Invalid sort_by.field: ${sortField}`);
    if (direction !== 'ASC' && direction !== 'DESC')
      throw invalidParameter(`Invalid sort_by.direction: ${direction}`);
    const fingerprint = [
      states.join(','),
      sources.join(','),
      pinnedText ?? '',
      policyId ?? '',
      sortField,
      direction,
    ].join('|');
    const now = this.clock.now();
    const stateSet = new Set(states);
    const sourceSet = new Set(sources);
    const matches = (c: SimCluster): boolean =>
      (stateSet.size === 0 || stateSet.has(c.state)) &&
      (sourceSet.size === 0 || sourceSet.has(c.source)) &&
      (pinnedText === null || String(c.pinned) === pinnedText) &&
      (policyId === null || c.config.policy_id === policyId) &&
      !c.gone &&
      (c.pinned || c.state !== 'TERMINATED' || (c.terminatedTime ?? now) > now - LIST_RETENTION_MS);

    let after: number | undefined;
    const token = query.get('page_token');
    if (token) {
      const cursor = decodeToken(token);
      if (cursor?.f !== fingerprint || typeof cursor.a !== 'number') {
        throw invalidParameter('Invalid page_token: it does not belong to this query');
      }
      after = cursor.a;
    }
    const page: Json[] = [];
    let last: number | undefined;
    let more = false;
    if (sortField === 'DEFAULT') {
      // Creation order: the cursor is the last cluster's sequence number, found by binary search,
      // so a page costs O(log n + page + clusters skipped by the filter) and stays stable when
      // clusters are added between pages.
      const ascending = direction === 'ASC';
      const list = this.ordered;
      let i = after === undefined ? (ascending ? 0 : list.length - 1) : this.positionAfter(after, ascending);
      for (; ascending ? i < list.length : i >= 0; i += ascending ? 1 : -1) {
        const cluster = list[i];
        if (cluster === undefined || !matches(cluster)) continue;
        if (page.length === size) {
          more = true;
          break;
        }
        page.push(this.render(cluster, false));
        last = cluster.seq;
      }
    } else {
      // Name order has to sort every call: O(n log n). The cursor is a position in that order.
      const sorted = this.ordered
        .filter(matches)
        .sort(
          (a, b) =>
            String(a.config.cluster_name).localeCompare(String(b.config.cluster_name)) || a.seq - b.seq,
        );
      if (direction === 'DESC') sorted.reverse();
      const from = after ?? 0;
      for (const cluster of sorted.slice(from, from + size)) page.push(this.render(cluster, false));
      more = from + size < sorted.length;
      last = from + size;
    }
    const response: Json = { clusters: page };
    if (more && last !== undefined) response.next_page_token = encodeToken({ a: last, f: fingerprint });
    return response;
  }

  /** Index of the first cluster after sequence number `seq` in the given direction. */
  private positionAfter(seq: number, ascending: boolean): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ordered[mid]?.seq ?? 0) <= seq) lo = mid + 1;
      else hi = mid;
    }
    // lo = first index with seq > `seq`.
    if (ascending) return lo;
    return this.ordered[lo - 1]?.seq === seq ? lo - 2 : lo - 1;
  }

  /** Databricks 2.0 list: every cluster, no pagination. */
  listClustersLegacy(): Json {
    const now = this.clock.now();
    return {
      clusters: this.ordered
        .filter(
          (c) =>
            !c.gone &&
            (c.pinned || c.state !== 'TERMINATED' || (c.terminatedTime ?? now) > now - LIST_RETENTION_MS),
        )
        .map((c) => this.render(c, false)),
    };
  }

  /**
   * Judges an API call against the harm rules and records what it breaks. `origin` is the API
   * request; calls without one (the Jobs service, the admin's user actions) are not judged.
   */
  private judge(
    call: MutatingCall,
    cluster: SimCluster,
    origin: CallOrigin | undefined,
    configs?: { previous: Json; next: Json },
    refused = false,
  ): void {
    if (origin === undefined) return;
    const window = autoterminationMs(cluster.config);
    const facts: ClusterFacts = {
      source: cluster.source,
      state: cluster.state,
      terminationType: cluster.terminationReason?.type,
      terminationCode: cluster.terminationReason?.code,
      driverHealthy: cluster.driverHealthy,
      idleAtTermination:
        cluster.state === 'TERMINATED' &&
        (cluster.terminationReason?.code === 'INACTIVITY' ||
          (window > 0 &&
            cluster.lastActivityTime !== undefined &&
            (cluster.terminatedTime ?? 0) - cluster.lastActivityTime >= window)),
      ...(configs ? { previousConfig: configs.previous, nextConfig: configs.next } : {}),
    };
    const verdicts = judge(call, facts);
    // A refused call changed nothing: only trying to touch an owned cluster counts.
    const kept = refused ? verdicts.filter((v) => v.rule === 'mutate_owned_cluster') : verdicts;
    this.harms.record(origin, cluster.id, this.clock.now(), kept);
  }

  /** The per-workspace launch limit (`limits.clusterLaunchesPerMinute`): counts this launch or refuses it. */
  private takeLaunch(): void {
    const limits = this.limits;
    if (limits === undefined) return;
    const now = this.clock.now();
    this.launches = this.launches.filter((t) => t > now - 60_000);
    if (this.launches.length >= limits.clusterLaunchesPerMinute) {
      throw new SimApiError(
        limits.status,
        'REQUEST_LIMIT_EXCEEDED',
        `Your request was rejected due to API rate limiting: at most ${limits.clusterLaunchesPerMinute} cluster launches per minute in this workspace. Please retry your request later.`,
        limits.retryAfterSeconds,
      );
    }
    this.launches.push(now);
  }

  private refuseJobCluster(
    cluster: SimCluster,
    what: 'started' | 'edited',
    call: MutatingCall,
    origin?: CallOrigin,
  ): void {
    if (cluster.source !== 'JOB') return;
    // Refused, yet recorded: a careful operator never tries.
    this.judge(call, cluster, origin, undefined, true);
    throw invalidParameter(
      `Cluster ${cluster.id} was created by the job scheduler; job clusters cannot be ${what}.`,
    );
  }

  start(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.requireCluster(body.cluster_id);
    this.refuseJobCluster(cluster, 'started', 'start', origin);
    if (cluster.state !== 'TERMINATED') throw this.unexpectedState(cluster);
    this.takeLaunch();
    this.judge('start', cluster, origin);
    this.startInternal(cluster, user);
  }

  private startInternal(cluster: SimCluster, user: string): void {
    const now = this.clock.now();
    cluster.state = 'PENDING';
    cluster.stateMessage = 'Finding instances for new nodes, acquiring more instances if necessary';
    cluster.terminationReason = undefined;
    cluster.terminatedTime = undefined;
    this.record(cluster, now, 'STARTING', { user });
    this.scheduleLaunch(cluster, now);
  }

  /** PENDING → RUNNING after `startMs`, or → TERMINATING after `failedStartMs` when a fault or the pool says so. */
  private scheduleLaunch(cluster: SimCluster, now: number): void {
    const failure =
      this.faults.takeStartFailure(cluster.id) ??
      this.faults.unavailableReason(this.nodeTypesOf(cluster)) ??
      this.pools.capacityFailure(cluster.config, desiredWorkers(cluster.config), this.holding(cluster));
    if (failure) {
      this.schedule(cluster, now + this.timings.failedStartMs, { kind: 'terminating', reason: failure });
    } else {
      this.schedule(cluster, now + this.timings.startMs, { kind: 'running', cause: 'start' });
    }
  }

  /** Pool clusters other than `except` that hold instances now (up, or starting with success ahead). */
  private *holding(except: SimCluster): Generator<{ config: Json; workers: number }> {
    if (!drawsFromPool(except.config)) return;
    for (const c of this.ordered) {
      if (c === except || c.gone || c.state === 'TERMINATED' || !drawsFromPool(c.config)) continue;
      if (c.state === 'PENDING' && c.nextAction?.kind === 'terminating') continue;
      yield {
        config: c.config,
        workers: c.state === 'PENDING' ? desiredWorkers(c.config) : c.currentWorkers,
      };
    }
  }

  private nodeTypesOf(cluster: SimCluster): string[] {
    return nodeTypes({ ...cluster.config, ...this.pools.nodeTypes(cluster.config) });
  }

  restart(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.requireCluster(body.cluster_id);
    if (cluster.state !== 'RUNNING') throw this.unexpectedState(cluster);
    this.takeLaunch();
    this.judge('restart', cluster, origin);
    const now = this.clock.now();
    cluster.state = 'RESTARTING';
    cluster.stateMessage = 'Restarting Spark';
    this.record(cluster, now, 'RESTARTING', {
      user: typeof body.restart_user === 'string' ? body.restart_user : user,
    });
    this.schedule(cluster, now + this.timings.restartMs, { kind: 'running', cause: 'restart' });
  }

  resize(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.requireCluster(body.cluster_id);
    const hasWorkers = body.num_workers !== undefined;
    const hasAutoscale = body.autoscale !== undefined;
    if (hasWorkers === hasAutoscale)
      throw invalidParameter('Exactly one of num_workers or autoscale must be set');
    let target: number;
    if (hasWorkers) {
      if (!Number.isInteger(body.num_workers) || (body.num_workers as number) < 0) {
        throw invalidParameter('num_workers must be a non-negative integer');
      }
      target = body.num_workers as number;
    } else {
      const autoscale = body.autoscale as Json;
      const min = autoscale?.min_workers;
      const max = autoscale?.max_workers;
      if (
        !Number.isInteger(min) ||
        !Number.isInteger(max) ||
        (min as number) < 0 ||
        (max as number) < (min as number)
      ) {
        throw invalidParameter('autoscale needs integer min_workers <= max_workers');
      }
      target = min as number;
    }
    if (cluster.state !== 'RUNNING') {
      throw new SimApiError(
        400,
        'INVALID_STATE',
        `Cluster ${cluster.id} is not running (state ${STATE_WORDS[cluster.state]}).`,
      );
    }
    this.judge('resize', cluster, origin);
    const now = this.clock.now();
    const from = cluster.currentWorkers;
    if (hasWorkers) {
      cluster.config.num_workers = target;
      delete cluster.config.autoscale;
    } else {
      cluster.config.autoscale = body.autoscale;
      delete cluster.config.num_workers;
    }
    cluster.state = 'RESIZING';
    cluster.stateMessage = 'Resizing cluster';
    this.record(cluster, now, 'RESIZING', {
      current_num_workers: from,
      target_num_workers: target,
      cluster_size: clusterSize(cluster.config),
      cause: 'USER_REQUEST',
      user,
    });
    this.schedule(cluster, now + this.timings.resizeMs, { kind: 'resized', from, to: target });
  }

  edit(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.requireCluster(body.cluster_id);
    if (typeof body.spark_version !== 'string' || body.spark_version === '') {
      throw invalidParameter('Missing required field: spark_version');
    }
    const next: Json = {};
    for (const [key, value] of Object.entries(body)) if (!READ_ONLY.has(key)) next[key] = value;
    this.applyEdit(cluster, next, 'edit', origin, user);
  }

  update(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.requireCluster(body.cluster_id);
    if (typeof body.update_mask !== 'string' || body.update_mask.trim() === '') {
      throw invalidParameter('Missing required field: update_mask');
    }
    const patch = body.cluster;
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw invalidParameter('Missing required field: cluster');
    }
    const fields = body.update_mask.split(',').map((f) => f.trim());
    const patchJson = patch as Json;
    let next: Json;
    if (fields.includes('*')) {
      next = {};
      for (const [key, value] of Object.entries(patchJson)) if (!READ_ONLY.has(key)) next[key] = value;
    } else {
      next = { ...cluster.config };
      for (const field of fields) {
        if (!/^[a-z_][a-z0-9_]*$/.test(field) || READ_ONLY.has(field)) {
          throw invalidParameter(`update_mask names a field that cannot be updated: ${field}`);
        }
        if (field in patchJson) next[field] = patchJson[field];
        else delete next[field];
      }
    }
    if (typeof next.spark_version !== 'string') throw invalidParameter('spark_version cannot be removed');
    this.applyEdit(cluster, next, 'update', origin, user);
  }

  private applyEdit(
    cluster: SimCluster,
    next: Json,
    call: 'edit' | 'update',
    origin: CallOrigin | undefined,
    user: string,
  ): void {
    this.refuseJobCluster(cluster, 'edited', call, origin);
    if (cluster.state !== 'RUNNING' && cluster.state !== 'TERMINATED') throw this.unexpectedState(cluster);
    const conflict = poolNodeTypeConflict(next) ?? this.policies.check(next);
    if (conflict !== undefined) throw invalidParameter(conflict);
    if (cluster.state === 'RUNNING') this.takeLaunch();
    this.judge(call, cluster, origin, { previous: cluster.config, next });
    const now = this.clock.now();
    const previous = cluster.config;
    cluster.config = { ...next, cluster_name: next.cluster_name ?? previous.cluster_name };
    // As Databricks reports it (api-facts §3.1): the attributes are ClusterAttributes, which carry no
    // size; the sizes travel in previous_cluster_size / cluster_size.
    this.record(cluster, now, 'EDITED', {
      previous_attributes: withoutSize(previous),
      attributes: withoutSize(cluster.config),
      previous_cluster_size: clusterSize(previous),
      cluster_size: clusterSize(cluster.config),
      user,
    });
    if (cluster.state === 'RUNNING') {
      cluster.state = 'RESTARTING';
      cluster.stateMessage = 'Restarting Spark to apply the new configuration';
      this.record(cluster, now, 'RESTARTING', { user });
      this.schedule(cluster, now + this.timings.restartMs, { kind: 'running', cause: 'restart' });
    }
  }

  /** `clusters/delete` = terminate; a no-op on TERMINATING/TERMINATED clusters. */
  terminate(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.requireCluster(body.cluster_id);
    if (cluster.state === 'TERMINATING' || cluster.state === 'TERMINATED') return;
    this.judge('delete', cluster, origin);
    this.terminateAs(cluster, user);
  }

  private terminateAs(cluster: SimCluster, user: string): void {
    this.cancelTransition(cluster);
    this.apply(
      cluster,
      {
        kind: 'terminating',
        reason: { code: 'USER_REQUEST', type: 'SUCCESS', parameters: { username: user } },
      },
      this.clock.now(),
    );
  }

  /**
   * `clusters/permanent-delete`: terminates the cluster (if it is not) and removes it: it leaves
   * `clusters/list` and every call on it answers "does not exist".
   */
  permanentDelete(body: Json, origin?: CallOrigin, user = USER): void {
    const cluster = this.requireCluster(body.cluster_id);
    this.judge('permanent-delete', cluster, origin);
    if (cluster.state !== 'TERMINATING' && cluster.state !== 'TERMINATED') this.terminateAs(cluster, user);
    cluster.gone = true;
    cluster.idleTransition++;
  }

  events(body: Json): Json {
    if (body.page_token !== undefined && typeof body.page_token !== 'string')
      throw invalidParameter('page_token must be a string');
    let query = body;
    let cursor: number | undefined;
    if (typeof body.page_token === 'string' && body.page_token !== '') {
      const token = decodeToken(body.page_token);
      if (!token || typeof token.s !== 'number' || typeof token.q !== 'object' || token.q === null) {
        throw invalidParameter('Invalid page_token');
      }
      query = { ...(token.q as Json), cluster_id: body.cluster_id ?? (token.q as Json).cluster_id };
      cursor = token.s;
    }
    const cluster = this.requireCluster(query.cluster_id);
    const order = query.order ?? 'DESC';
    if (order !== 'ASC' && order !== 'DESC') throw invalidParameter(`Invalid order: ${String(order)}`);
    const types = query.event_types;
    if (types !== undefined && (!Array.isArray(types) || types.some((t) => typeof t !== 'string'))) {
      throw invalidParameter('event_types must be a list of event types');
    }
    const typeSet = new Set((types as string[] | undefined) ?? []);
    const start = optionalMillis(query.start_time, 'start_time');
    const end = optionalMillis(query.end_time, 'end_time');
    let filtered = cluster.events.filter(
      (e) =>
        (typeSet.size === 0 || typeSet.has(e.type)) &&
        (start === undefined || e.timestamp >= start) &&
        (end === undefined || e.timestamp <= end),
    );
    if (order === 'DESC') filtered = filtered.reverse();
    const legacy = body.page_token === undefined && (body.offset !== undefined || body.limit !== undefined);
    // A request naming no paging style gets both answers, as Databricks still sends them.
    const unstyled = !legacy && body.page_token === undefined && body.page_size === undefined;
    if (legacy) {
      const offset = optionalMillis(body.offset, 'offset') ?? 0;
      const limit = Math.min(
        Math.max(optionalMillis(body.limit, 'limit') ?? EVENTS_PAGE_DEFAULT, 1),
        EVENTS_PAGE_MAX,
      );
      const page = filtered.slice(offset, offset + limit);
      return {
        events: page.map((e) => renderEvent(cluster.id, e)),
        total_count: filtered.length,
        ...(offset + limit < filtered.length
          ? { next_page: { ...body, offset: offset + limit, limit } }
          : {}),
      };
    }
    const sizeValue = query.page_size;
    const requested = typeof sizeValue === 'number' && Number.isFinite(sizeValue) ? Math.trunc(sizeValue) : 0;
    const size = requested <= 0 ? EVENTS_PAGE_DEFAULT : Math.min(requested, EVENTS_PAGE_MAX);
    let from = 0;
    if (cursor !== undefined) {
      const c = cursor;
      from = filtered.findIndex((e) => (order === 'DESC' ? e.seq < c : e.seq > c));
      if (from < 0) from = filtered.length;
    }
    const page = filtered.slice(from, from + size);
    const last = page.at(-1);
    const { page_token: _token, ...rest } = query;
    const more = from + size < filtered.length && last !== undefined;
    return {
      events: page.map((e) => renderEvent(cluster.id, e)),
      ...(more && last ? { next_page_token: encodeToken({ s: last.seq, q: rest }) } : {}),
      ...(more && unstyled ? { next_page: { ...body, offset: size, limit: size } } : {}),
      total_count: unstyled ? filtered.length : 0,
    };
  }

  private render(cluster: SimCluster, detailed: boolean): Json {
    const up = cluster.state === 'RUNNING' || cluster.state === 'RESIZING' || cluster.state === 'RESTARTING';
    // The pool decides a pool cluster's node types; the driver's defaults to the workers' (as Databricks shows them).
    const nodes = {
      ...pick(cluster.config, ['node_type_id', 'driver_node_type_id']),
      ...this.pools.nodeTypes(cluster.config),
    };
    const out: Json = {
      cluster_id: cluster.id,
      creator_user_name: cluster.creator,
      ...cluster.config,
      ...nodes,
      ...(nodes.node_type_id === undefined
        ? {}
        : { driver_node_type_id: nodes.driver_node_type_id ?? nodes.node_type_id }),
      cluster_source: cluster.source,
      state: cluster.state,
      state_message: cluster.stateMessage,
      start_time: cluster.startTime,
      spark_context_id: rawNumber(cluster.sparkContextId),
      default_tags: {
        Vendor: 'Databricks',
        Creator: cluster.creator,
        ClusterName: String(cluster.config.cluster_name),
        ClusterId: cluster.id,
      },
    };
    if (cluster.terminatedTime !== undefined && cluster.state === 'TERMINATED')
      out.terminated_time = cluster.terminatedTime;
    if (cluster.lastStateLossTime !== undefined) out.last_state_loss_time = cluster.lastStateLossTime;
    if (cluster.lastRestartedTime !== undefined) out.last_restarted_time = cluster.lastRestartedTime;
    if (cluster.lastActivityTime !== undefined) out.last_activity_time = cluster.lastActivityTime;
    if (cluster.terminationReason && (cluster.state === 'TERMINATING' || cluster.state === 'TERMINATED')) {
      out.termination_reason = reasonJson(cluster.terminationReason);
    }
    if (cluster.pinned) out.pinned_by_user_name = cluster.creator;
    if (up) {
      const nodeStart = cluster.lastRestartedTime ?? cluster.startTime;
      out.driver = node(cluster, 'driver', nodeStart);
      if (detailed) {
        out.executors = Array.from({ length: cluster.currentWorkers }, (_, i) =>
          node(cluster, `worker-${i}`, nodeStart),
        );
      }
    }
    if (detailed) out.spec = { ...cluster.config };
    return out;
  }

  // ---------------------------------------------------------------- jobs API

  getRun(query: URLSearchParams, paged: boolean): Json {
    const runId = query.get('run_id');
    if (!runId) throw invalidParameter('Missing required field: run_id');
    if (!/^\d+$/.test(runId)) throw invalidParameter(`Invalid run_id: ${runId}`);
    const run = this.runs.get(runId);
    if (!run) {
      const owner = this.taskRunOwner(runId);
      if (!owner) throw invalidParameter(`Run ${runId} does not exist.`);
      return this.renderTaskRun(owner.run, owner.task);
    }
    let page = 0;
    const token = query.get('page_token');
    if (token) {
      const decoded = decodeToken(token);
      if (decoded?.r !== runId || typeof decoded.p !== 'number') throw invalidParameter('Invalid page_token');
      page = decoded.p;
    }
    const withHistory = query.get('include_history') === 'true';
    const slice = <T>(items: readonly T[]): T[] =>
      paged ? items.slice(page * RUN_ARRAY_PAGE, (page + 1) * RUN_ARRAY_PAGE) : [...items];
    const arrays = [run.tasks.length, run.job.jobClusters.length, withHistory ? run.repairs.length : 0];
    const hasMore = paged && arrays.some((n) => n > (page + 1) * RUN_ARRAY_PAGE);
    const single = run.tasks.length === 1 ? run.tasks[0] : undefined;
    const existing = single?.seed.existing_cluster_id;
    const out: Json = {
      job_id: idValue(run.job.id),
      run_id: idValue(run.id),
      job_run_id: idValue(run.id),
      number_in_job: run.numberInJob,
      original_attempt_run_id: idValue(run.id),
      creator_user_name: USER,
      run_name: run.job.name,
      run_page_url: `${this.baseUrl}/#job/${run.job.id}/run/${run.id}`,
      run_type: 'JOB_RUN',
      trigger: 'ONE_TIME',
      attempt_number: 0,
      start_time: run.startTime,
      end_time: run.endTime,
      state: {
        life_cycle_state: run.lifeCycle,
        ...(run.result ? { result_state: run.result } : {}),
        state_message: run.stateMessage,
        user_cancelled_or_timedout: false,
      },
      status: {
        state: statusState(run.lifeCycle),
        ...(run.termination && TERMINAL_LIFE_CYCLES.has(run.lifeCycle)
          ? { termination_details: run.termination }
          : {}),
      },
      tasks: slice(run.tasks).map((t) => renderTask(t, this.baseUrl, run)),
      ...(run.job.jobClusters.length > 0 ? { job_clusters: slice(run.job.jobClusters) } : {}),
      ...(existing ? { cluster_spec: { existing_cluster_id: existing } } : {}),
      ...(single?.clusterInstance ? { cluster_instance: single.clusterInstance } : {}),
      ...(withHistory ? { repair_history: slice(run.repairs).map(renderRepair) } : {}),
      has_more: hasMore,
      ...(hasMore ? { next_page_token: encodeToken({ r: runId, p: page + 1 }) } : {}),
    };
    return out;
  }

  private taskRunOwner(taskRunId: string): { run: SimRun; task: SimTask } | undefined {
    for (const run of this.runs.values()) {
      const task = run.tasks.find((t) => t.runId === taskRunId);
      if (task) return { run, task };
    }
    return undefined;
  }

  /**
   * `runs/get` of a task run id: the task run itself, linked to its job run by `job_run_id` (the
   * SDKs' field: "for task runs, the ID of the job run that the task run belongs to").
   */
  private renderTaskRun(run: SimRun, task: SimTask): Json {
    const rendered = renderTask(task, this.baseUrl, run);
    return {
      ...rendered,
      job_id: idValue(run.job.id),
      job_run_id: idValue(run.id),
      original_attempt_run_id: rendered.run_id,
      creator_user_name: USER,
      run_name: task.taskKey,
      run_type: 'JOB_RUN',
      trigger: 'ONE_TIME',
      tasks: [rendered],
      has_more: false,
    };
  }

  /** `GET /api/2.2/jobs/list` (see job-lists.ts). */
  listJobs(query: URLSearchParams): Json {
    return listJobs([...this.jobs.values()], query, USER);
  }

  /** `GET /api/2.2/jobs/runs/list` (see job-lists.ts). */
  listRuns(query: URLSearchParams): Json {
    const runs = [...this.runs.values()].map((run) => ({
      id: run.id,
      jobId: run.job.id,
      startTime: run.startTime,
      finished: TERMINAL_LIFE_CYCLES.has(run.lifeCycle),
    }));
    return listRuns(runs, query, (id) => this.getRun(new URLSearchParams({ run_id: id }), false));
  }

  repair(body: Json): Json {
    const runId = idText(body.run_id, 'run_id');
    const run = this.runs.get(runId);
    if (!run) throw invalidParameter(`Run ${runId} does not exist.`);
    if (!TERMINAL_LIFE_CYCLES.has(run.lifeCycle)) {
      throw new SimApiError(
        400,
        'INVALID_STATE',
        `Run ${runId} is still in progress (${run.lifeCycle}); it can be repaired once it has finished.`,
      );
    }
    const latest = run.repairs.findLast((r) => r.type === 'REPAIR');
    if (latest) {
      if (body.latest_repair_id === undefined) {
        throw invalidParameter(
          `Run ${runId} has been repaired before; latest_repair_id ${latest.id} must be provided.`,
        );
      }
      const given = idText(body.latest_repair_id, 'latest_repair_id');
      if (given !== latest.id) {
        throw invalidParameter(
          `latest_repair_id ${given} is not the latest repair of run ${runId} (expected ${latest.id}).`,
        );
      }
    } else if (body.latest_repair_id !== undefined) {
      throw invalidParameter(
        `Run ${runId} has no repair ${idText(body.latest_repair_id, 'latest_repair_id')}.`,
      );
    }
    let keys: string[];
    if (body.rerun_all_failed_tasks === true) {
      if (body.rerun_tasks !== undefined)
        throw invalidParameter('Give either rerun_tasks or rerun_all_failed_tasks, not both');
      keys = run.tasks.filter((t) => FAILED_RESULTS.has(t.result ?? '')).map((t) => t.taskKey);
      if (keys.length === 0) throw invalidParameter(`Run ${runId} has no failed tasks to rerun.`);
    } else if (Array.isArray(body.rerun_tasks) && body.rerun_tasks.length > 0) {
      keys = body.rerun_tasks.map(String);
      for (const key of keys) {
        if (!run.tasks.some((t) => t.taskKey === key))
          throw invalidParameter(`Task ${key} does not exist in run ${runId}.`);
      }
    } else {
      throw invalidParameter('Either rerun_tasks or rerun_all_failed_tasks must be set');
    }
    if (body.rerun_dependent_tasks === true) keys = this.withDependents(run, keys);
    const now = this.clock.now();
    const rerun = run.tasks.filter((t) => keys.includes(t.taskKey));
    for (const task of rerun) this.launchTask(run, task, now, true);
    const repair: SimRepair = {
      id: this.newId(),
      type: 'REPAIR',
      startTime: now,
      endTime: 0,
      lifeCycle: 'RUNNING',
      taskRunIds: rerun.map((t) => t.runId),
    };
    run.repairs.push(repair);
    this.resumeRun(run, now);
    return { repair_id: rawNumber(repair.id) };
  }

  private withDependents(run: SimRun, keys: string[]): string[] {
    const result = new Set(keys);
    let grew = true;
    while (grew) {
      grew = false;
      for (const task of run.tasks) {
        if (!result.has(task.taskKey) && task.seed.depends_on?.some((d) => result.has(d.task_key))) {
          result.add(task.taskKey);
          grew = true;
        }
      }
    }
    return [...result];
  }

  runNow(body: Json): Json {
    const jobId = idText(body.job_id, 'job_id');
    const job = this.jobs.get(jobId);
    if (!job) throw invalidParameter(`Job ${jobId} does not exist.`);
    const token = body.idempotency_token;
    if (token !== undefined) {
      if (typeof token !== 'string' || token.length === 0 || token.length > 64) {
        throw invalidParameter('idempotency_token must be a string of 1 to 64 characters');
      }
      const existing = job.tokens.get(token);
      if (existing) {
        const run = this.runs.get(existing);
        if (!run) throw invalidParameter(`The run created with idempotency_token ${token} was deleted.`);
        return { run_id: rawNumber(run.id), number_in_job: run.numberInJob };
      }
    }
    const now = this.clock.now();
    const run: SimRun = {
      id: this.newId(),
      job,
      numberInJob: job.nextNumber++,
      startTime: now,
      endTime: 0,
      lifeCycle: 'PENDING',
      stateMessage: 'Waiting for cluster',
      tasks: job.tasks.map((seed) => ({
        runId: '',
        taskKey: seed.task_key,
        seed,
        lifeCycle: 'PENDING',
        attempt: 0,
        startTime: now,
        endTime: 0,
      })),
      repairs: [],
      transition: 0,
      jobClusters: new Map(),
    };
    for (const task of run.tasks) this.launchTask(run, task, now, false);
    run.repairs.push(this.originalAttempt(now, 0, 'RUNNING', undefined, run.tasks));
    this.runs.set(run.id, run);
    if (typeof token === 'string') job.tokens.set(token, run.id);
    this.resumeRun(run, now);
    return { run_id: rawNumber(run.id), number_in_job: run.numberInJob };
  }

  private launchTask(run: SimRun, task: SimTask, now: number, isRetry: boolean): void {
    task.runId = this.newId();
    if (isRetry) task.attempt++;
    task.lifeCycle = 'RUNNING';
    task.result = undefined;
    task.termination = undefined;
    task.startTime = now;
    task.endTime = 0;
    const clusterId = task.seed.existing_cluster_id;
    if (clusterId) {
      const cluster = this.clusters.get(clusterId);
      // Like the Jobs service: a terminated all-purpose cluster is started for the run.
      if (cluster?.state === 'TERMINATED' && cluster.source !== 'JOB' && !cluster.gone)
        this.startInternal(cluster, 'jobs-service');
      else if (cluster?.state === 'RUNNING') this.touch(cluster, now);
      task.clusterInstance = { cluster_id: clusterId };
    } else if (task.seed.new_cluster !== undefined || task.seed.job_cluster_key !== undefined) {
      task.clusterInstance = { cluster_id: this.jobClusterFor(run, task, now).id };
    }
  }

  /**
   * The job cluster a task runs on: the run's cluster for its `job_cluster_key` (shared by the
   * run's tasks), else a new one, named as Databricks names them: `job-<job_id>-run-<task run id>`.
   */
  private jobClusterFor(run: SimRun, task: SimTask, now: number): SimCluster {
    const key = task.seed.job_cluster_key ?? `task:${task.taskKey}`;
    const known = run.jobClusters.get(key);
    const existing = known === undefined ? undefined : this.clusters.get(known);
    if (existing && existing.state !== 'TERMINATED' && existing.state !== 'TERMINATING') return existing;
    const shared = run.job.jobClusters.find((c) => c.job_cluster_key === task.seed.job_cluster_key);
    const spec = (task.seed.new_cluster ?? (shared?.new_cluster as Json | undefined) ?? {}) as Json;
    const cluster = this.addCluster({
      spark_version: '15.4.x-scala2.12',
      ...spec,
      cluster_name: `job-${run.job.id}-run-${task.runId}`,
      cluster_source: 'JOB',
      state: 'PENDING',
      start_time: now,
      creator_user_name: USER,
    } as ClusterSeed);
    this.cancelTransition(cluster);
    this.scheduleLaunch(cluster, now);
    run.jobClusters.set(key, cluster.id);
    return cluster;
  }

  private resumeRun(run: SimRun, now: number): void {
    run.lifeCycle = 'RUNNING';
    run.result = undefined;
    run.termination = undefined;
    run.stateMessage = '';
    run.endTime = 0;
    run.transition++;
    this.push({
      at: now + this.timings.runMs,
      order: ++this.order,
      kind: 'run',
      id: run.id,
      transition: run.transition,
    });
  }

  private finishRun(run: SimRun, at: number): void {
    const active = run.tasks.filter((t) => t.lifeCycle === 'RUNNING');
    // A task whose cluster is still coming up keeps waiting, as the Jobs service would.
    const waiting = active.some((t) => {
      const id = t.clusterInstance?.cluster_id;
      const cluster = id ? this.clusters.get(id) : undefined;
      return (
        cluster !== undefined &&
        (cluster.state === 'PENDING' || cluster.state === 'RESTARTING' || cluster.state === 'RESIZING')
      );
    });
    if (waiting) {
      run.transition++;
      this.push({
        at: at + this.timings.runMs,
        order: ++this.order,
        kind: 'run',
        id: run.id,
        transition: run.transition,
      });
      return;
    }
    for (const task of active) {
      task.endTime = at;
      const clusterId = task.clusterInstance?.cluster_id;
      const cluster = clusterId ? this.clusters.get(clusterId) : undefined;
      if (cluster?.state === 'RUNNING') this.touch(cluster, at);
      if (clusterId && cluster?.state !== 'RUNNING') {
        task.lifeCycle = 'INTERNAL_ERROR';
        task.result = 'FAILED';
        const why = cluster?.terminationReason ? ` Reason: ${cluster.terminationReason.code}.` : '';
        task.termination = {
          code: 'CLUSTER_ERROR',
          type: 'CLIENT_ERROR',
          message: `Cluster ${clusterId} is ${cluster ? STATE_WORDS[cluster.state].toLowerCase() : 'gone'}.${why}`,
        };
      } else {
        task.lifeCycle = 'TERMINATED';
        task.result = 'SUCCESS';
        if (cluster && task.clusterInstance) task.clusterInstance.spark_context_id = cluster.sparkContextId;
      }
    }
    const failed = run.tasks.some((t) => FAILED_RESULTS.has(t.result ?? ''));
    run.lifeCycle = failed ? 'INTERNAL_ERROR' : 'TERMINATED';
    run.result = failed ? 'FAILED' : 'SUCCESS';
    run.endTime = at;
    run.termination = failed
      ? defaultRunFailure(run.tasks)
      : { code: 'SUCCESS', type: 'SUCCESS', message: '' };
    const repair = run.repairs.at(-1);
    if (repair !== undefined && repair.endTime === 0) {
      repair.endTime = at;
      repair.lifeCycle = run.lifeCycle;
      repair.result = run.result;
    }
    // The run's job clusters end with it; one that failed keeps its own reason.
    for (const id of run.jobClusters.values()) {
      const cluster = this.clusters.get(id);
      if (cluster === undefined || cluster.state === 'TERMINATED' || cluster.state === 'TERMINATING')
        continue;
      this.cancelTransition(cluster);
      this.apply(cluster, { kind: 'terminating', reason: { code: 'JOB_FINISHED', type: 'SUCCESS' } }, at);
    }
  }

  // ---------------------------------------------------------------- admin

  failCluster(id: string, reason: TerminationReasonSeed): void {
    const cluster = this.requireCluster(id);
    if (cluster.state === 'TERMINATING' || cluster.state === 'TERMINATED') {
      throw new SimApiError(
        409,
        'INVALID_STATE',
        `Cluster ${id} is already ${STATE_WORDS[cluster.state].toLowerCase()}`,
      );
    }
    this.cancelTransition(cluster);
    this.apply(cluster, { kind: 'terminating', reason }, this.clock.now());
  }

  /**
   * The driver stops answering and Databricks heals it: `crash` loses its state (new Spark context,
   * new `last_state_loss_time`, DRIVER_HEALTHY after `driverRecoveryMs`); `gc-pause` is a blip
   * (DRIVER_HEALTHY after `gcPauseMs`, nothing lost).
   */
  driverTrouble(id: string, kind: 'crash' | 'gc-pause'): void {
    const cluster = this.requireCluster(id);
    if (cluster.state !== 'RUNNING') {
      throw new SimApiError(
        409,
        'INVALID_STATE',
        `Cluster ${id} is ${STATE_WORDS[cluster.state].toLowerCase()}, not running`,
      );
    }
    const now = this.clock.now();
    if (kind === 'crash') {
      cluster.lastStateLossTime = now;
      cluster.sparkContextId = this.random.int64();
      cluster.driverHealthy = false;
    }
    this.record(cluster, now, 'DRIVER_NOT_RESPONDING', {
      driver_state_message: 'Driver is up but is not responsive, likely due to GC.',
    });
    cluster.driverTransition++;
    this.push({
      at: now + (kind === 'crash' ? this.timings.driverRecoveryMs : this.timings.gcPauseMs),
      order: ++this.order,
      kind: 'driver',
      id,
      transition: cluster.driverTransition,
    });
  }

  /** A command (notebook cell, query) runs on the cluster: `last_activity_time` moves. */
  runCommand(id: string): void {
    const cluster = this.requireCluster(id);
    if (cluster.state !== 'RUNNING') throw this.unexpectedState(cluster);
    this.touch(cluster, this.clock.now());
  }

  /** A user terminates the cluster (USER_REQUEST / SUCCESS with their name); never judged. */
  userTerminate(id: string, user: string): void {
    const cluster = this.requireCluster(id);
    if (cluster.state === 'TERMINATING' || cluster.state === 'TERMINATED')
      throw this.unexpectedState(cluster);
    this.terminateAs(cluster, user);
  }

  /** A user starts the cluster (STARTING with their name); never judged. */
  userStart(id: string, user: string): void {
    this.start({ cluster_id: id }, undefined, user);
  }

  /** A user restarts the cluster (RESTARTING with their name); never judged. */
  userRestart(id: string, user: string): void {
    this.restart({ cluster_id: id }, undefined, user);
  }

  /** A user edits attributes (`null` removes one): EDITED with their name, a restart if RUNNING; never judged. */
  userEdit(id: string, user: string, attributes: Readonly<Record<string, unknown>>): void {
    const cluster = this.requireCluster(id);
    const next: Json = { ...cluster.config };
    for (const [key, value] of Object.entries(attributes)) {
      if (READ_ONLY.has(key)) throw invalidParameter(`${key} cannot be edited`);
      if (value === null) delete next[key];
      else next[key] = value;
    }
    this.applyEdit(cluster, next, 'edit', undefined, user);
  }

  summary(): Json {
    const byState: Record<string, number> = {};
    for (const cluster of this.ordered) byState[cluster.state] = (byState[cluster.state] ?? 0) + 1;
    return {
      clusters: { total: this.ordered.length, byState },
      jobs: this.jobs.size,
      runs: this.runs.size,
      pendingTransitions: this.heap.length,
      timings: this.timings,
    };
  }

  clusterIds(): string[] {
    return this.ordered.map((c) => c.id);
  }

  // ---------------------------------------------------------------- heap

  private push(entry: HeapEntry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      swap(heap, i, parent);
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < heap.length && before(heap[l], heap[smallest])) smallest = l;
      if (r < heap.length && before(heap[r], heap[smallest])) smallest = r;
      if (smallest === i) return;
      swap(heap, i, smallest);
      i = smallest;
    }
  }
}

function before(a: HeapEntry | undefined, b: HeapEntry | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

function swap<T>(items: T[], i: number, j: number): void {
  const a = items[i] as T;
  items[i] = items[j] as T;
  items[j] = a;
}

function pick(config: Json, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of keys) if (typeof config[key] === 'string') out[key] = config[key] as string;
  return out;
}

function autoterminationMs(config: Json): number {
  const minutes = config.autotermination_minutes;
  return typeof minutes === 'number' && minutes > 0 ? minutes * 60_000 : 0;
}

function desiredWorkers(config: Json): number {
  if (typeof config.num_workers === 'number') return config.num_workers;
  const autoscale = config.autoscale as Json | undefined;
  return typeof autoscale?.min_workers === 'number' ? autoscale.min_workers : 0;
}

/** A cluster configuration without its size (`num_workers`, `autoscale`). */
function withoutSize(config: Json): Json {
  const { num_workers: _workers, autoscale: _autoscale, ...rest } = config;
  return rest;
}

function clusterSize(config: Json): Json {
  return config.autoscale ? { autoscale: config.autoscale } : { num_workers: desiredWorkers(config) };
}

function nodeTypes(config: Json): string[] {
  return [config.node_type_id, config.driver_node_type_id].filter((v): v is string => typeof v === 'string');
}

function reasonJson(reason: Reason): Json {
  return {
    code: reason.code,
    type: reason.type,
    ...(reason.parameters ? { parameters: { ...reason.parameters } } : {}),
  };
}

function terminationMessage(reason: Reason): string {
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

function node(cluster: SimCluster, name: string, start: number): Json {
  const hash = [...`${cluster.id}/${name}`].reduce((h, ch) => (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0, 7);
  return {
    node_id: `${(hash >>> 0).toString(16).padStart(8, '0')}${cluster.sparkContextId.slice(-8)}`,
    instance_id: `i-0${(hash >>> 0).toString(16).padStart(8, '0')}${cluster.sparkContextId.slice(0, 8)}`,
    private_ip: `10.${(hash >>> 16) & 255}.${(hash >>> 8) & 255}.${hash & 255}`,
    start_timestamp: start,
  };
}

function renderEvent(clusterId: string, event: SimEvent): Json {
  return { cluster_id: clusterId, timestamp: event.timestamp, type: event.type, details: event.details };
}

function renderTask(task: SimTask, baseUrl: string, run: SimRun): Json {
  const s = task.seed;
  return {
    run_id: task.runId ? idValue(task.runId) : undefined,
    task_key: task.taskKey,
    ...(s.existing_cluster_id ? { existing_cluster_id: s.existing_cluster_id } : {}),
    ...(s.job_cluster_key ? { job_cluster_key: s.job_cluster_key } : {}),
    ...(s.new_cluster ? { new_cluster: s.new_cluster } : {}),
    ...(s.depends_on ? { depends_on: s.depends_on } : {}),
    state: {
      life_cycle_state: task.lifeCycle,
      ...(task.result ? { result_state: task.result } : {}),
      state_message: task.termination?.message ?? '',
      user_cancelled_or_timedout: false,
    },
    status: {
      state: statusState(task.lifeCycle),
      ...(TERMINAL_LIFE_CYCLES.has(task.lifeCycle)
        ? { termination_details: task.termination ?? { code: 'SUCCESS', type: 'SUCCESS', message: '' } }
        : {}),
    },
    ...(task.clusterInstance ? { cluster_instance: { ...task.clusterInstance } } : {}),
    attempt_number: task.attempt,
    start_time: task.startTime,
    end_time: task.endTime,
    run_page_url: `${baseUrl}/#job/${run.job.id}/run/${task.runId}`,
  };
}

function renderRepair(repair: SimRepair): Json {
  return {
    type: repair.type,
    id: rawNumber(repair.id),
    start_time: repair.startTime,
    end_time: repair.endTime,
    state: {
      life_cycle_state: repair.lifeCycle,
      ...(repair.result ? { result_state: repair.result } : {}),
      state_message: '',
      user_cancelled_or_timedout: false,
    },
    status: { state: statusState(repair.lifeCycle) },
    task_run_ids: repair.taskRunIds.map(rawNumber),
  };
}

/** Termination details of a seeded task outcome that names none. */
function defaultTaskTermination(result: string): { code: string; type: string; message?: string } {
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
function taskLifeCycle(result: string, code: string): string {
  if (result === 'UPSTREAM_FAILED') return 'SKIPPED';
  return ['DRIVER_ERROR', 'CLUSTER_ERROR', 'CLOUD_FAILURE', 'INTERNAL_ERROR'].includes(code)
    ? 'INTERNAL_ERROR'
    : 'TERMINATED';
}

function statusState(lifeCycle: string): string {
  return TERMINAL_LIFE_CYCLES.has(lifeCycle) ? 'TERMINATED' : lifeCycle;
}

function defaultRunFailure(tasks: readonly SimTask[]): { code: string; type: string; message: string } {
  const failed = tasks.find((t) => FAILED_RESULTS.has(t.result ?? ''));
  if (failed?.termination) return { ...failed.termination, message: failed.termination.message ?? '' };
  return {
    code: 'RUN_EXECUTION_ERROR',
    type: 'CLIENT_ERROR',
    message: `Task ${failed?.taskKey ?? ''} failed with message: Workload failed, see run output for details.`,
  };
}

function idText(value: unknown, field: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value === 'string' && /^\d{1,19}$/.test(value)) return value;
  if (value === undefined) throw invalidParameter(`Missing required field: ${field}`);
  throw invalidParameter(`Invalid ${field}: must be a positive integer`);
}
