/**
 * The Jobs API: `runs/get` (of a job run or a task run), `jobs/list`, `runs/list`, `run-now` and
 * `runs/repair`, and how a run goes: its tasks start on their clusters (an existing one is started
 * if terminated, a job cluster is created), the run finishes after `runMs` unless a cluster is still
 * coming up, a task fails if its cluster is gone, and the run's job clusters end with it.
 */
import { invalidParameter, SimApiError } from './errors.ts';
import { listJobs, listRuns } from './job-lists.ts';
import { rawNumber } from './json.ts';
import { type ClusterLifecycle, LifecyclePart } from './lifecycle.ts';
import {
  defaultRunFailure,
  FAILED_RESULTS,
  type Json,
  originalAttempt,
  type SimCluster,
  type SimRepair,
  type SimRun,
  type SimTask,
  STATE_WORDS,
  TERMINAL_LIFE_CYCLES,
  USER,
  type WorkspaceModel,
} from './model.ts';
import { decodeToken, encodeToken } from './paging.ts';
import { renderRun, renderTaskRun } from './render.ts';
import type { ClusterSeed } from './scenario.ts';
import type { Seeder } from './seed.ts';
import type { Transition } from './timeline.ts';

const RUN_ARRAY_PAGE = 100;

export class Jobs extends LifecyclePart {
  private readonly seeder: Seeder;

  constructor(m: WorkspaceModel, lifecycle: ClusterLifecycle, seeder: Seeder) {
    super(m, lifecycle);
    this.seeder = seeder;
  }

  /** Finishes a run whose time has come (a stale transition changes nothing). */
  applyDue(due: Transition): void {
    const run = this.m.runs.get(due.id);
    if (run && run.transition === due.transition) this.finishRun(run, due.at);
  }

  getRun(query: URLSearchParams, paged: boolean): Json {
    const runId = query.get('run_id');
    if (!runId) throw invalidParameter('Missing required field: run_id');
    if (!/^\d+$/.test(runId)) throw invalidParameter(`Invalid run_id: ${runId}`);
    const run = this.m.runs.get(runId);
    if (!run) {
      const owner = this.taskRunOwner(runId);
      if (!owner) throw invalidParameter(`Run ${runId} does not exist.`);
      return renderTaskRun(owner.run, owner.task, this.m.baseUrl);
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
    return {
      ...renderRun(run, this.m.baseUrl, { slice, withHistory }),
      has_more: hasMore,
      ...(hasMore ? { next_page_token: encodeToken({ r: runId, p: page + 1 }) } : {}),
    };
  }

  private taskRunOwner(taskRunId: string): { run: SimRun; task: SimTask } | undefined {
    for (const run of this.m.runs.values()) {
      const task = run.tasks.find((t) => t.runId === taskRunId);
      if (task) return { run, task };
    }
    return undefined;
  }

  /** `GET /api/2.2/jobs/list` (see job-lists.ts). */
  listJobs(query: URLSearchParams): Json {
    return listJobs([...this.m.jobs.values()], query, USER);
  }

  /** `GET /api/2.2/jobs/runs/list` (see job-lists.ts). */
  listRuns(query: URLSearchParams): Json {
    const runs = [...this.m.runs.values()].map((run) => ({
      id: run.id,
      jobId: run.job.id,
      startTime: run.startTime,
      finished: TERMINAL_LIFE_CYCLES.has(run.lifeCycle),
    }));
    return listRuns(runs, query, (id) => this.getRun(new URLSearchParams({ run_id: id }), false));
  }

  /** `runs/repair`: reruns the named (or all failed) tasks of a finished run, as a new repair. */
  repair(body: Json): Json {
    const runId = idText(body.run_id, 'run_id');
    const run = this.m.runs.get(runId);
    if (!run) throw invalidParameter(`Run ${runId} does not exist.`);
    checkRepairable(run, body);
    let keys = rerunKeys(run, body);
    if (body.rerun_dependent_tasks === true) keys = withDependents(run, keys);
    const now = this.m.clock.now();
    const rerun = run.tasks.filter((t) => keys.includes(t.taskKey));
    for (const task of rerun) this.launchTask(run, task, now, true);
    const repair: SimRepair = {
      id: this.m.newId(),
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

  runNow(body: Json): Json {
    const jobId = idText(body.job_id, 'job_id');
    const job = this.m.jobs.get(jobId);
    if (!job) throw invalidParameter(`Job ${jobId} does not exist.`);
    const token = body.idempotency_token;
    if (token !== undefined) {
      if (typeof token !== 'string' || token.length === 0 || token.length > 64) {
        throw invalidParameter('idempotency_token must be a string of 1 to 64 characters');
      }
      const existing = job.tokens.get(token);
      if (existing) {
        const run = this.m.runs.get(existing);
        if (!run) throw invalidParameter(`The run created with idempotency_token ${token} was deleted.`);
        return { run_id: rawNumber(run.id), number_in_job: run.numberInJob };
      }
    }
    const now = this.m.clock.now();
    const run: SimRun = {
      id: this.m.newId(),
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
    run.repairs.push(originalAttempt(this.m.newId(), now, 0, 'RUNNING', undefined, run.tasks));
    this.m.runs.set(run.id, run);
    if (typeof token === 'string') job.tokens.set(token, run.id);
    this.resumeRun(run, now);
    return { run_id: rawNumber(run.id), number_in_job: run.numberInJob };
  }

  private launchTask(run: SimRun, task: SimTask, now: number, isRetry: boolean): void {
    task.runId = this.m.newId();
    if (isRetry) task.attempt++;
    task.lifeCycle = 'RUNNING';
    task.result = undefined;
    task.termination = undefined;
    task.startTime = now;
    task.endTime = 0;
    const clusterId = task.seed.existing_cluster_id;
    if (clusterId) {
      const cluster = this.m.clusters.get(clusterId);
      // Like the Jobs service: a terminated all-purpose cluster is started for the run.
      if (cluster?.state === 'TERMINATED' && cluster.source !== 'JOB' && !cluster.gone)
        this.lifecycle.start(cluster, 'jobs-service');
      else if (cluster?.state === 'RUNNING') this.lifecycle.touch(cluster, now);
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
    const existing = known === undefined ? undefined : this.m.clusters.get(known);
    if (existing && existing.state !== 'TERMINATED' && existing.state !== 'TERMINATING') return existing;
    const shared = run.job.jobClusters.find((c) => c.job_cluster_key === task.seed.job_cluster_key);
    const spec = (task.seed.new_cluster ?? (shared?.new_cluster as Json | undefined) ?? {}) as Json;
    const cluster = this.seeder.addCluster({
      spark_version: '15.4.x-scala2.12',
      ...spec,
      cluster_name: `job-${run.job.id}-run-${task.runId}`,
      cluster_source: 'JOB',
      state: 'PENDING',
      start_time: now,
      creator_user_name: USER,
    } as ClusterSeed);
    this.lifecycle.cancelTransition(cluster);
    this.lifecycle.scheduleLaunch(cluster, now);
    run.jobClusters.set(key, cluster.id);
    return cluster;
  }

  private resumeRun(run: SimRun, now: number): void {
    run.lifeCycle = 'RUNNING';
    run.result = undefined;
    run.termination = undefined;
    run.stateMessage = '';
    run.endTime = 0;
    this.scheduleFinish(run, now);
  }

  /** The run finishes `runMs` after `from` (or waits again then). */
  private scheduleFinish(run: SimRun, from: number): void {
    run.transition++;
    this.m.timeline.add({
      at: from + this.m.timings.runMs,
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
      const cluster = id ? this.m.clusters.get(id) : undefined;
      return (
        cluster !== undefined &&
        (cluster.state === 'PENDING' || cluster.state === 'RESTARTING' || cluster.state === 'RESIZING')
      );
    });
    if (waiting) {
      this.scheduleFinish(run, at);
      return;
    }
    for (const task of active) this.finishTask(task, at);
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
      const cluster = this.m.clusters.get(id);
      if (cluster === undefined || cluster.state === 'TERMINATED' || cluster.state === 'TERMINATING')
        continue;
      this.lifecycle.terminate(cluster, { code: 'JOB_FINISHED', type: 'SUCCESS' }, at);
    }
  }

  /** A task succeeds on a cluster still up and fails (CLUSTER_ERROR) on one that is not. */
  private finishTask(task: SimTask, at: number): void {
    task.endTime = at;
    const clusterId = task.clusterInstance?.cluster_id;
    const cluster = clusterId ? this.m.clusters.get(clusterId) : undefined;
    if (cluster?.state === 'RUNNING') this.lifecycle.touch(cluster, at);
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
}

/** A run can be repaired once it has finished, naming its latest repair if it has one. */
function checkRepairable(run: SimRun, body: Json): void {
  if (!TERMINAL_LIFE_CYCLES.has(run.lifeCycle)) {
    throw new SimApiError(
      400,
      'INVALID_STATE',
      `Run ${run.id} is still in progress (${run.lifeCycle}); it can be repaired once it has finished.`,
    );
  }
  const latest = run.repairs.findLast((r) => r.type === 'REPAIR');
  if (latest) {
    if (body.latest_repair_id === undefined) {
      throw invalidParameter(
        `Run ${run.id} has been repaired before; latest_repair_id ${latest.id} must be provided.`,
      );
    }
    const given = idText(body.latest_repair_id, 'latest_repair_id');
    if (given !== latest.id) {
      throw invalidParameter(
        `latest_repair_id ${given} is not the latest repair of run ${run.id} (expected ${latest.id}).`,
      );
    }
  } else if (body.latest_repair_id !== undefined) {
    throw invalidParameter(
      `Run ${run.id} has no repair ${idText(body.latest_repair_id, 'latest_repair_id')}.`,
    );
  }
}

/** The task keys a repair reruns: `rerun_tasks`, or every failed task with `rerun_all_failed_tasks`. */
function rerunKeys(run: SimRun, body: Json): string[] {
  if (body.rerun_all_failed_tasks === true) {
    if (body.rerun_tasks !== undefined)
      throw invalidParameter('Give either rerun_tasks or rerun_all_failed_tasks, not both');
    const keys = run.tasks.filter((t) => FAILED_RESULTS.has(t.result ?? '')).map((t) => t.taskKey);
    if (keys.length === 0) throw invalidParameter(`Run ${run.id} has no failed tasks to rerun.`);
    return keys;
  }
  if (Array.isArray(body.rerun_tasks) && body.rerun_tasks.length > 0) {
    const keys = body.rerun_tasks.map(String);
    for (const key of keys) {
      if (!run.tasks.some((t) => t.taskKey === key))
        throw invalidParameter(`Task ${key} does not exist in run ${run.id}.`);
    }
    return keys;
  }
  throw invalidParameter('Either rerun_tasks or rerun_all_failed_tasks must be set');
}

function withDependents(run: SimRun, keys: string[]): string[] {
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

function idText(value: unknown, field: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value === 'string' && /^\d{1,19}$/.test(value)) return value;
  if (value === undefined) throw invalidParameter(`Missing required field: ${field}`);
  throw invalidParameter(`Invalid ${field}: must be a positive integer`);
}
