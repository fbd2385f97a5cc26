/**
 * One job notification, analysed the same way wherever it arrives: the intake reads its run and
 * clusters from Databricks, `rca classify` is given them. Only `jobs.on_failure` is acted on; the
 * run then decides (`job-run.ts`): a run that shows no failure, and no cluster failure behind it,
 * needs nothing.
 */
import { analyzeJobRun, type JobIds, type JobRunAnalysis } from './job-run.ts';
import type { ClusterDetails, Run } from './schemas/databricks.ts';
import type { JobEventType, JobNotification } from './schemas/inbound.ts';

const IGNORED_JOB_EVENTS: Readonly<Record<Exclude<JobEventType, 'jobs.on_failure'>, string>> = {
  'jobs.on_start': 'a run started; nothing failed',
  'jobs.on_success': 'a run succeeded; nothing failed',
  'jobs.on_duration_warning_threshold_exceeded': 'a run is slow, not failed; Databricks alerts its owner',
  'jobs.on_streaming_backlog_exceeded': 'a stream is behind, not failed; Databricks alerts its owner',
};

/** Why a run that was notified as failed is left alone after all. */
export const NO_FAILED_RUN = 'runs/get shows no failed run or task; nothing to do';

/** Why a notification needs no action, or undefined for `jobs.on_failure`, the one acted on. */
export function ignoredJobEvent(eventType: JobEventType): string | undefined {
  if (eventType === 'jobs.on_failure') return undefined;
  return `${eventType} needs no action: ${IGNORED_JOB_EVENTS[eventType]}`;
}

/** The job run a notification is about: a task-level notification names the task run, whose parent is the job run. */
export function jobIdsOf(notification: JobNotification): JobIds {
  return {
    jobId: notification.job.job_id,
    runId: notification.run.parent_run_id ?? notification.run.run_id,
    jobName: notification.job.name,
    taskKey: notification.task?.task_key,
  };
}

/**
 * The run (`runs/get`) and the clusters of its failed tasks (`clusters/get`; `clusterIdsToRead` says
 * which) explain the notification: the analysis, or undefined when nothing failed.
 */
export function analyzeJobNotification(
  notification: JobNotification,
  run: Run,
  clusters: readonly ClusterDetails[],
): JobRunAnalysis | undefined {
  const analysis = analyzeJobRun(jobIdsOf(notification), run, clusters);
  return analysis.failed || analysis.clusterCause !== undefined ? analysis : undefined;
}

/** The clusters whose `clusters/get` the analysis needs: those the run's failed tasks ran on. */
export function clusterIdsToRead(notification: JobNotification, run: Run): readonly string[] {
  return analyzeJobRun(jobIdsOf(notification), run, []).clusterIds;
}
