/**
 * Seeding the workspace from a scenario: its clusters with a short plausible history (created, came
 * up, perhaps terminated), generated fleets, and jobs with their finished runs.
 */
import { invalidParameter } from './errors.ts';
import { LifecyclePart } from './lifecycle.ts';
import {
  clusterSize,
  defaultRunFailure,
  defaultTaskTermination,
  desiredWorkers,
  FAILED_RESULTS,
  type Json,
  originalAttempt,
  READ_ONLY,
  reasonJson,
  type SimCluster,
  type SimJob,
  type SimRun,
  type SimTask,
  taskLifeCycle,
  terminationMessage,
  USER,
} from './model.ts';
import { isPoolCluster } from './pools.ts';
import { clusterIdAt, SimRandom } from './random.ts';
import type { ClusterSeed, GenerateSpec, JobSeed, RunSeed, Scenario } from './scenario.ts';

export interface LoadResult {
  readonly clusters: number;
  readonly jobs: number;
  readonly runs: number;
}

/** When a seeded cluster started, last came up and (if it did) terminated. */
interface SeedTimes {
  readonly now: number;
  readonly startTime: number;
  readonly terminatedAt: number;
  readonly lastStart: number;
  readonly ended: boolean;
}

export class Seeder extends LifecyclePart {
  /** Adds a scenario's clusters and jobs (ids already present are rejected) and applies its timings and faults. */
  load(scenario: Scenario): LoadResult {
    if (scenario.seed !== undefined) this.m.random = new SimRandom(scenario.seed);
    if (scenario.timings) this.m.timings = { ...this.m.timings, ...scenario.timings };
    if (scenario.limits) this.m.limits = scenario.limits;
    for (const pool of scenario.pools) this.m.pools.add(pool);
    for (const policy of scenario.policies) this.m.policies.add(policy, this.m.clock.now());
    let clusters = 0;
    let runs = 0;
    scenario.clusters.forEach((seed, index) => {
      if (seed.cluster_id !== undefined && this.m.clusters.has(seed.cluster_id)) {
        throw invalidParameter(`clusters.${index}.cluster_id: cluster ${seed.cluster_id} already exists`);
      }
    });
    for (const seed of scenario.clusters) {
      this.addCluster(seed);
      clusters++;
    }
    for (const spec of scenario.generate) clusters += this.generate(spec);
    for (const job of scenario.jobs) runs += this.addJob(job);
    if (scenario.faults) this.m.faults.set(scenario.faults);
    return { clusters, jobs: scenario.jobs.length, runs };
  }

  private generate(spec: GenerateSpec): number {
    for (let i = 0; i < spec.count; i++) {
      const state = this.m.random.weighted(spec.states);
      const source = this.m.random.weighted(spec.sources);
      const n = this.m.ordered.length + 1;
      this.addCluster(
        {
          cluster_name: source === 'JOB' ? `job-${100_000 + n}-run-${1_000 + n}` : `${spec.namePrefix}-${n}`,
          state,
          cluster_source: source,
          spark_version: '15.4.x-scala2.12',
          node_type_id: this.m.random.pick(spec.nodeTypeIds),
          num_workers: spec.numWorkers,
          ...(spec.availability
            ? { aws_attributes: { availability: spec.availability, first_on_demand: 1 } }
            : {}),
          ...(state === 'TERMINATED' || state === 'TERMINATING'
            ? { termination_reason: this.m.random.pick(spec.terminationReasons) }
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
  addCluster(seed: ClusterSeed, restarted = false): SimCluster {
    const now = this.m.clock.now();
    const id = seed.cluster_id ?? this.uniqueClusterId(now);
    const config: Json = {};
    for (const [key, value] of Object.entries(seed)) if (!READ_ONLY.has(key)) config[key] = value;
    config.cluster_name ??= id;
    if (!isPoolCluster(config)) config.node_type_id ??= 'i3.xlarge';
    const times = this.seedTimes(seed, now);
    const cluster = this.newCluster(seed, id, config, times, restarted);
    this.m.clusters.set(id, cluster);
    this.m.ordered.push(cluster);
    this.seedHistory(cluster, seed, times);
    return cluster;
  }

  private seedTimes(seed: ClusterSeed, now: number): SeedTimes {
    const startTime = seed.start_time ?? now - 86_400_000 - this.m.random.int(30 * 86_400_000);
    const ended = seed.state === 'TERMINATED' || seed.state === 'TERMINATING';
    // A terminated cluster ran for a few hours before it ended; a running one came up within a day.
    const terminatedAt =
      seed.state === 'TERMINATED'
        ? (seed.terminated_time ??
          (seed.terminated_ago_ms === undefined
            ? now - 60_000 - this.m.random.int(6 * 3_600_000)
            : now - seed.terminated_ago_ms))
        : now;
    const defaultStart = Math.max(
      startTime + this.m.timings.startMs,
      terminatedAt - (ended ? 3_600_000 + this.m.random.int(4 * 3_600_000) : this.m.random.int(86_400_000)),
    );
    const lastStart =
      seed.last_restarted_time ?? seed.last_state_loss_time ?? Math.min(defaultStart, terminatedAt);
    return { now, startTime, terminatedAt, lastStart, ended };
  }

  private newCluster(
    seed: ClusterSeed,
    id: string,
    config: Json,
    times: SeedTimes,
    restarted: boolean,
  ): SimCluster {
    const { lastStart } = times;
    const cluster: SimCluster = {
      seq: ++this.m.clusterSeq,
      id,
      source: seed.cluster_source,
      creator: seed.creator_user_name ?? USER,
      startTime: times.startTime,
      state: seed.state,
      stateMessage: '',
      config,
      sparkContextId: seed.spark_context_id ?? this.m.random.int64(),
      pinned: seed.pinned ?? false,
      currentWorkers: seed.state !== 'TERMINATED' ? desiredWorkers(config) : 0,
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
      cluster.lastActivityTime = seed.last_activity_time ?? (times.ended ? times.terminatedAt : times.now);
    }
    return cluster;
  }

  /** A short plausible history, so that events and pollers have something to read; then what is due next. */
  private seedHistory(cluster: SimCluster, seed: ClusterSeed, times: SeedTimes): void {
    const { now } = times;
    const { config } = cluster;
    this.m.record(cluster, times.startTime, 'CREATING', {
      user: cluster.creator,
      cluster_size: clusterSize(config),
    });
    if (seed.state !== 'PENDING') {
      this.m.record(cluster, Math.max(times.startTime, times.lastStart), 'RUNNING', {
        current_num_workers: desiredWorkers(config),
        target_num_workers: desiredWorkers(config),
      });
    }
    const { timings } = this.m;
    switch (seed.state) {
      case 'PENDING':
        cluster.stateMessage = 'Finding instances for new nodes, acquiring more instances if necessary';
        this.lifecycle.schedule(cluster, now + timings.startMs, { kind: 'running', cause: 'start' });
        break;
      case 'RESTARTING':
        this.lifecycle.schedule(cluster, now + timings.restartMs, { kind: 'running', cause: 'restart' });
        break;
      case 'RESIZING':
        this.lifecycle.schedule(cluster, now + timings.resizeMs, {
          kind: 'resized',
          from: cluster.currentWorkers,
          to: cluster.currentWorkers,
        });
        break;
      case 'TERMINATING':
      case 'TERMINATED':
        this.seedTermination(cluster, seed, times);
        break;
      case 'RUNNING':
        this.lifecycle.scheduleIdleCheck(cluster);
        break;
    }
  }

  private seedTermination(cluster: SimCluster, seed: ClusterSeed, times: SeedTimes): void {
    const { now } = times;
    const reason = seed.termination_reason ?? {
      code: 'USER_REQUEST',
      type: 'SUCCESS',
      parameters: { username: cluster.creator },
    };
    cluster.terminationReason = reason;
    cluster.stateMessage = terminationMessage(reason);
    const terminatingAt = seed.state === 'TERMINATED' ? times.terminatedAt - this.m.timings.terminateMs : now;
    this.m.record(cluster, Math.max(times.lastStart, terminatingAt), 'TERMINATING', {
      reason: reasonJson(reason),
    });
    if (seed.state === 'TERMINATED') {
      cluster.terminatedTime = times.terminatedAt;
      cluster.currentWorkers = 0;
    } else {
      this.lifecycle.schedule(cluster, now + this.m.timings.terminateMs, { kind: 'terminated' });
    }
  }

  private uniqueClusterId(now: number): string {
    for (;;) {
      const id = clusterIdAt(now, this.m.random);
      if (!this.m.clusters.has(id)) return id;
    }
  }

  private addJob(seed: JobSeed): number {
    if (this.m.jobs.has(seed.job_id)) throw invalidParameter(`job ${seed.job_id} already exists`);
    const job: SimJob = {
      id: seed.job_id,
      name: seed.name,
      tasks: seed.tasks,
      jobClusters: seed.job_clusters ?? [],
      nextNumber: 1,
      tokens: new Map(),
    };
    this.m.jobs.set(job.id, job);
    const now = this.m.clock.now();
    for (const runSeed of seed.runs) this.addRun(job, runSeed, now);
    return seed.runs.length;
  }

  /** A finished run of `job`, its tasks' outcomes as the seed gives them (or as its result implies). */
  private addRun(job: SimJob, runSeed: RunSeed, now: number): void {
    if (this.m.runs.has(runSeed.run_id)) throw invalidParameter(`run ${runSeed.run_id} already exists`);
    const start = runSeed.start_time ?? now - 3_600_000;
    const end = runSeed.end_time ?? start + this.m.timings.runMs;
    const tasks = this.seededTasks(job, runSeed, start, end);
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
      repairs: [originalAttempt(this.m.newId(), start, end, lifeCycle, result, tasks)],
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
    this.m.runs.set(run.id, run);
    if (runSeed.idempotency_token) job.tokens.set(runSeed.idempotency_token, run.id);
  }

  private seededTasks(job: SimJob, runSeed: RunSeed, start: number, end: number): SimTask[] {
    const outcomes = new Map((runSeed.tasks ?? []).map((t) => [t.task_key, t]));
    return job.tasks.map((taskSeed) => {
      const outcome = outcomes.get(taskSeed.task_key);
      const result = outcome?.result_state ?? runSeed.result_state;
      const cluster = taskSeed.existing_cluster_id
        ? this.m.clusters.get(taskSeed.existing_cluster_id)
        : undefined;
      const termination = outcome?.termination_details ?? defaultTaskTermination(result);
      return {
        runId: outcome?.run_id ?? this.m.newId(),
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
  }
}
