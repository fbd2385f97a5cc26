/**
 * The soak's day, planned: the workspace it runs on (one cluster per genuine failure and per benign
 * event, a job per failed job run) and the timed plan of failures, deliveries, racing users, benign
 * events and Databricks faults. Deterministic for a seed.
 */
import type { ScenarioInput } from '../simulator/index.ts';

/** Failure classes, each with the cluster it needs and what makes it fail. */
export const CLASSES = [
  { name: 'driver_unreachable', reason: { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' } },
  { name: 'cloud_shutdown', reason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' } },
  {
    name: 'spot_lost',
    reason: { code: 'SPOT_INSTANCE_TERMINATION', type: 'CLOUD_FAILURE' },
    seed: { aws_attributes: { availability: 'SPOT_WITH_FALLBACK', first_on_demand: 1 } },
  },
  {
    name: 'capacity',
    reason: { code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', type: 'CLOUD_FAILURE' },
    seed: { node_type_id: 'r5d.4xlarge', driver_node_type_id: 'r5d.4xlarge' },
  },
  {
    name: 'pool_capacity',
    reason: { code: 'INSTANCE_POOL_MAX_CAPACITY_REACHED', type: 'CLIENT_ERROR' },
    seed: { instance_pool_id: 'soak-pool-a' },
  },
  { name: 'throttled', reason: { code: 'AWS_REQUEST_LIMIT_EXCEEDED', type: 'CLOUD_FAILURE' } },
  { name: 'config', reason: { code: 'INVALID_ARGUMENT', type: 'CLIENT_ERROR' } },
  { name: 'init_script', reason: { code: 'INIT_SCRIPT_FAILURE', type: 'CLIENT_ERROR' } },
  {
    name: 'pipeline',
    reason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' },
    seed: { cluster_source: 'PIPELINE' },
  },
  { name: 'driver_oom', reason: { code: 'DRIVER_OUT_OF_MEMORY', type: 'SERVICE_FAULT' } },
  { name: 'job_run', reason: undefined },
] as const;

export const BENIGN = ['user_stop', 'autotermination', 'healed_driver', 'job_success'] as const;
export type BenignKind = (typeof BENIGN)[number];

export type Planned =
  | { readonly at: number; readonly kind: 'failure'; readonly cls: number; readonly target: string }
  | { readonly at: number; readonly kind: 'benign'; readonly benign: BenignKind; readonly target: string }
  | { readonly at: number; readonly kind: 'deliver'; readonly target: string; readonly late: boolean }
  | {
      readonly at: number;
      readonly kind: 'race';
      readonly target: string;
      readonly action: 'stop' | 'start' | 'edit';
    }
  | { readonly at: number; readonly kind: 'faults'; readonly n: number };

export const MINUTE = 60_000;

/** A small deterministic generator (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A genuine failure's target: a cluster id, or `run:<run id>` for a failed job run. */
export interface FailureTarget {
  readonly id: string;
  readonly cls: number;
}

export interface BenignTarget {
  readonly id: string;
  readonly kind: BenignKind;
}

export interface SoakWorkspace {
  readonly scenario: ScenarioInput;
  readonly clusters: readonly Record<string, unknown>[];
  readonly failureTargets: readonly FailureTarget[];
  readonly benignTargets: readonly BenignTarget[];
  /** The all-purpose cluster the healthy job runs on. */
  readonly jobHost: string;
}

/** The healthy job whose runs are the `job_success` benign events. */
export const HEALTHY_JOB_ID = '9999';

export function soakWorkspace(failures: number, benign: number, seed: number): SoakWorkspace {
  const clusters: Record<string, unknown>[] = [];
  const jobs: Record<string, unknown>[] = [];
  const failureTargets = failureSeeds(failures, clusters, jobs);
  const jobHost = '1130-999999-jobhost1';
  clusters.push({
    cluster_id: jobHost,
    cluster_name: 'soak-job-host',
    state: 'RUNNING',
    cluster_source: 'UI',
  });
  jobs.push({
    job_id: HEALTHY_JOB_ID,
    name: 'soak-healthy-job',
    tasks: [{ task_key: 'main', existing_cluster_id: jobHost }],
  });
  const benignTargets = benignSeeds(benign, clusters);
  // Every cluster has been up for two hours, its start its last state loss: nothing before the day
  // looks like a failure.
  const upSince = Date.now() - 120 * MINUTE;
  for (const cluster of clusters) {
    cluster.start_time = upSince;
    cluster.last_state_loss_time = upSince;
  }
  const scenario: ScenarioInput = {
    description: 'soak',
    seed,
    timings: { driverRecoveryMs: MINUTE },
    clusters: clusters as ScenarioInput['clusters'],
    pools: [{ instance_pool_id: 'soak-pool-a', node_type_id: 'i3.xlarge' }],
    jobs: jobs as ScenarioInput['jobs'],
  };
  return { scenario, clusters, failureTargets, benignTargets, jobHost };
}

/** A cluster (or a job with a failed run) per genuine failure, the classes in turn. */
function failureSeeds(
  failures: number,
  clusters: Record<string, unknown>[],
  jobs: Record<string, unknown>[],
): FailureTarget[] {
  const targets: FailureTarget[] = [];
  for (let i = 0; i < failures; i++) {
    const cls = i % CLASSES.length;
    const spec = CLASSES[cls];
    if (spec === undefined) continue;
    if (spec.name === 'job_run') {
      const runId = String(95_000_000 + i);
      jobs.push(failedJob(i, runId));
      targets.push({ id: `run:${runId}`, cls });
      continue;
    }
    const id = `1130-${String(i).padStart(6, '0')}-failure${String(cls).padStart(2, '0')}`;
    const extra: Record<string, unknown> = 'seed' in spec ? spec.seed : {};
    clusters.push({
      cluster_id: id,
      cluster_name: `soak-${spec.name}-${i}`,
      state: 'RUNNING',
      cluster_source: 'UI',
      // A pool cluster's node type is its pool's.
      ...(extra.instance_pool_id === undefined ? { node_type_id: 'i3.xlarge' } : {}),
      num_workers: 2,
      ...extra,
    });
    targets.push({ id, cls });
  }
  return targets;
}

/** The job of failed run `runId`: its job id is `9500 + i` (the deliveries name it so). */
function failedJob(i: number, runId: string): Record<string, unknown> {
  return {
    job_id: String(9500 + i),
    name: `soak-job-${i}`,
    tasks: [{ task_key: 'main', new_cluster: { spark_version: '15.4.x-scala2.12', num_workers: 1 } }],
    runs: [
      {
        run_id: runId,
        result_state: 'FAILED',
        termination_details: {
          code: 'RUN_EXECUTION_ERROR',
          type: 'CLIENT_ERROR',
          message: 'Workload failed, see run output for details.',
        },
      },
    ],
  };
}

/** A cluster per benign event (a run of the healthy job for `job_success`), the kinds in turn. */
function benignSeeds(benign: number, clusters: Record<string, unknown>[]): BenignTarget[] {
  const targets: BenignTarget[] = [];
  for (let i = 0; i < benign; i++) {
    const kind = BENIGN[i % BENIGN.length] as BenignKind;
    if (kind === 'job_success') {
      targets.push({ id: `job:${HEALTHY_JOB_ID}:${i}`, kind });
      continue;
    }
    const id = `1130-${String(i).padStart(6, '0')}-benign0${BENIGN.indexOf(kind)}`;
    clusters.push({
      cluster_id: id,
      cluster_name: `soak-${kind}-${i}`,
      state: 'RUNNING',
      cluster_source: 'UI',
    });
    targets.push({ id, kind });
  }
  return targets;
}

/**
 * The plan of the day, in time order: each failure with its deliveries (right after, a minute
 * later, once late) and perhaps a racing user, the benign events spread over the day, and a set of
 * Databricks faults every 45 minutes.
 */
export function planDay(
  workspace: SoakWorkspace,
  day: { readonly dayMs: number; readonly rnd: () => number; readonly raceShare: number },
): Planned[] {
  const { dayMs, rnd } = day;
  const plan: Planned[] = [];
  const start = 10 * MINUTE;
  // The last three hours of a day are left for late deliveries and recoveries; a short day keeps half.
  const span = Math.max(dayMs - 3 * 60 * MINUTE, dayMs / 2);
  const spread = (i: number, n: number) => start + Math.floor(((i + rnd()) / n) * span);
  const { failureTargets, benignTargets } = workspace;
  failureTargets.forEach(({ id, cls }, i) => {
    const at = spread(i, failureTargets.length);
    plan.push({ at, kind: 'failure', cls, target: id });
    // A webhook (custom event or job notification) right after, again a minute later, and once late.
    plan.push({ at: at + MINUTE, kind: 'deliver', target: id, late: false });
    plan.push({ at: at + 2 * MINUTE, kind: 'deliver', target: id, late: false });
    plan.push({ at: at + (30 + Math.floor(rnd() * 90)) * MINUTE, kind: 'deliver', target: id, late: true });
    if (!id.startsWith('run:') && rnd() < day.raceShare) {
      const action = (['stop', 'start', 'edit'] as const)[Math.floor(rnd() * 3)] ?? 'stop';
      plan.push({ at: at + (2 + Math.floor(rnd() * 6)) * MINUTE, kind: 'race', target: id, action });
    }
  });
  benignTargets.forEach(({ id, kind }, i) => {
    plan.push({ at: spread(i, benignTargets.length), kind: 'benign', benign: kind, target: id });
  });
  for (let n = 0; n * 45 * MINUTE < dayMs; n++) plan.push({ at: start + n * 45 * MINUTE, kind: 'faults', n });
  return plan.sort((a, b) => a.at - b.at);
}
