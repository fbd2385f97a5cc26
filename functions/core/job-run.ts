/**
 * The seed's "Method 1": a job notification carries ids only, so the run (`runs/get`) and the
 * clusters of its failed tasks (`clusters/get`) tell whether a cluster failure caused the job
 * failure. If one did, the incident is that cluster failure; if not, it is a job failure.
 */
import { isFailureTermination } from './classifier/classify.ts';
import type { ClusterDetails, Run, RunTask } from './schemas/databricks.ts';
import type { JobContext } from './signal.ts';

const FAILED_RESULTS: ReadonlySet<string> = new Set(['FAILED', 'TIMEDOUT']);
const NOT_FAILED_TERMINATIONS: ReadonlySet<string> = new Set([
  'SUCCESS',
  'SUCCESS_WITH_FAILURES',
  'USER_CANCELED',
  'CANCELED',
  'SKIPPED',
  'DISABLED',
]);

export type ClusterCause =
  | { readonly kind: 'termination'; readonly cluster: ClusterDetails; readonly task?: RunTask }
  | { readonly kind: 'driver_loss'; readonly cluster: ClusterDetails; readonly task?: RunTask };

export interface JobRunAnalysis {
  /** Whether the run (or any of its tasks) failed. */
  readonly failed: boolean;
  /** Tasks that failed themselves (tasks skipped because an upstream failed are not causes). */
  readonly failedTasks: readonly RunTask[];
  /** The cluster failure that explains the run failure, if any. */
  readonly clusterCause?: ClusterCause;
  /** The clusters the failed tasks ran on. */
  readonly clusterIds: readonly string[];
  readonly job: JobContext;
}

export function isFailedTask(task: RunTask): boolean {
  if (task.state?.life_cycle_state === 'INTERNAL_ERROR') return true;
  if (task.state?.result_state !== undefined && FAILED_RESULTS.has(task.state.result_state)) return true;
  const code = task.status?.termination_details?.code;
  return code !== undefined && !NOT_FAILED_TERMINATIONS.has(code) && task.status?.state === 'TERMINATED';
}

function runFailed(run: Run): boolean {
  const code = run.status?.termination_details?.code;
  if (code !== undefined) return !NOT_FAILED_TERMINATIONS.has(code);
  if (run.state?.life_cycle_state === 'INTERNAL_ERROR') return true;
  return run.state?.result_state !== undefined && FAILED_RESULTS.has(run.state.result_state);
}

function taskClusterId(task: RunTask): string | undefined {
  return task.cluster_instance?.cluster_id ?? task.existing_cluster_id;
}

/** A cluster termination that is itself a failure (not a user stop, not the job ending). */
function isFailedTermination(cluster: ClusterDetails): boolean {
  const reason = cluster.termination_reason;
  if (reason === undefined || reason.type === 'SUCCESS') return false;
  if (cluster.state !== 'TERMINATED' && cluster.state !== 'TERMINATING') return false;
  return isFailureTermination(reason);
}

/** The driver restarted since the task ran on it: the cluster's Spark context changed. */
function driverChangedSince(cluster: ClusterDetails, task: RunTask): boolean {
  const before = task.cluster_instance?.spark_context_id;
  if (cluster.state !== 'RUNNING' || before === undefined || cluster.spark_context_id === undefined)
    return false;
  if (before === cluster.spark_context_id) return false;
  // A restart after the task ended is not what failed it.
  const lossTime = cluster.last_state_loss_time;
  return (
    lossTime === undefined || task.end_time === undefined || task.end_time === 0 || lossTime <= task.end_time
  );
}

export interface JobIds {
  readonly jobId: string;
  readonly runId: string;
  readonly jobName?: string | undefined;
  readonly taskKey?: string | undefined;
}

export function analyzeJobRun(ids: JobIds, run: Run, clusters: readonly ClusterDetails[]): JobRunAnalysis {
  const tasks = run.tasks ?? [];
  const failedTasks = tasks.filter(isFailedTask);
  const byId = new Map(clusters.map((c) => [c.cluster_id, c]));

  const candidates: { clusterId: string; task?: RunTask }[] = failedTasks.flatMap((task) => {
    const clusterId = taskClusterId(task);
    return clusterId === undefined ? [] : [{ clusterId, task }];
  });
  const runCluster = run.cluster_instance?.cluster_id ?? run.cluster_spec?.existing_cluster_id;
  if (candidates.length === 0 && runCluster !== undefined) candidates.push({ clusterId: runCluster });

  let clusterCause: ClusterCause | undefined;
  for (const { clusterId, task } of candidates) {
    const cluster = byId.get(clusterId);
    if (cluster === undefined) continue;
    if (isFailedTermination(cluster)) {
      clusterCause =
        task === undefined ? { kind: 'termination', cluster } : { kind: 'termination', cluster, task };
      break;
    }
    if (task !== undefined && driverChangedSince(cluster, task)) {
      clusterCause = { kind: 'driver_loss', cluster, task };
      break;
    }
  }

  const details = run.status?.termination_details ?? failedTasks[0]?.status?.termination_details;
  const message =
    details?.message ??
    failedTasks.find((t) => t.state?.state_message)?.state?.state_message ??
    run.state?.state_message;
  const terminationCode =
    details?.code ?? (run.state?.life_cycle_state === 'INTERNAL_ERROR' ? 'INTERNAL_ERROR' : undefined);
  const taskKeys = failedTasks.flatMap((t) => (t.task_key === undefined ? [] : [t.task_key]));
  const job: JobContext = {
    jobId: ids.jobId,
    runId: ids.runId,
    ...(ids.jobName === undefined ? {} : { jobName: ids.jobName }),
    ...(taskKeys.length > 0 ? { taskKeys } : ids.taskKey === undefined ? {} : { taskKeys: [ids.taskKey] }),
    ...(terminationCode === undefined ? {} : { terminationCode }),
    ...(details?.type === undefined ? {} : { terminationType: details.type }),
    // Kept in the ticket's audit trail and the workflow input: bounded like a cluster's state message.
    ...(message === undefined || message === '' ? {} : { message: message.slice(0, 4000) }),
    ...(run.run_page_url === undefined ? {} : { runPageUrl: run.run_page_url }),
  };
  return {
    failed: runFailed(run) || failedTasks.length > 0,
    failedTasks,
    ...(clusterCause === undefined ? {} : { clusterCause }),
    clusterIds: [...new Set(candidates.map((c) => c.clusterId))],
    job,
  };
}
