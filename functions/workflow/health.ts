/**
 * The `check_health` task, called after every Wait: a cluster is healthy when it is RUNNING, has
 * (re)started since the remediation, and no `DRIVER_NOT_RESPONDING` event came after that start; a
 * repaired run is healthy when its repair succeeded. Not healthy yet → poll again at the playbook's
 * interval until `health_check_timeout`; failed → another attempt after a back-off, within
 * `max_attempts` and `timeout_seconds`, else escalate. A failed restore of the original configuration
 * is not an attempt: the fallback the cluster was healthy on goes back once, at once.
 */
import { isCapacityShortage } from '../core/classifier/classify.ts';
import { backoffSeconds } from '../core/playbooks.ts';
import type { ClusterDetails } from '../core/schemas/databricks.ts';
import { evidenceOf } from './cluster-config.ts';
import type { WorkflowDeps } from './deps.ts';
import { TaskInputError } from './errors.ts';
import { DRIVER_EVENT_TYPES, driverEventsOf } from './guard.ts';
import type { AttemptFailure, Plan, RecoveryState } from './model.ts';
import { readCluster, readRun, recentEvents } from './reads.ts';
import {
  repairsRunAfterCluster,
  runLifeCycle,
  runResult,
  runSucceeded,
  TERMINAL_RUN_STATES,
} from './runs.ts';
import { audit, clampWait, escalateWith, remainingSeconds } from './support.ts';

const FAILED_STATES = new Set(['TERMINATING', 'TERMINATED', 'ERROR', 'UNKNOWN']);

type Verdict =
  | { readonly kind: 'healthy'; readonly detail: string }
  | { readonly kind: 'not_yet'; readonly detail: string }
  | {
      readonly kind: 'failed';
      readonly failure: AttemptFailure;
      readonly evidence?: Record<string, unknown>;
      readonly failedNodeType?: string;
      /** Stopped by a SUCCESS-type termination (a user, autotermination): not a failed attempt. */
      readonly stopped?: boolean;
    };

export async function checkHealth(state: RecoveryState, deps: WorkflowDeps): Promise<RecoveryState> {
  const plan = state.plan;
  if (plan === undefined) throw new TaskInputError('check_health needs the plan of a remediation');
  const now = deps.clock();
  const verdict =
    plan.subject === 'run' ? await runVerdict(state, plan, deps) : await clusterVerdict(state, plan, deps);
  if (verdict.kind === 'healthy') return healthy(state, verdict.detail, deps);
  if (verdict.kind === 'failed') return failAttempt(state, verdict, now, deps);
  if (now >= plan.healthDeadlineAt || now >= state.deadlineAt) {
    const window = now >= plan.healthDeadlineAt ? 'health_check_timeout' : 'timeout_seconds';
    const limit =
      window === 'health_check_timeout'
        ? state.input.playbook.health_check_timeout
        : state.input.playbook.timeout_seconds;
    return failAttempt(
      state,
      {
        kind: 'failed',
        failure: { kind: 'timeout', reason: `not healthy within ${window} (${limit} s): ${verdict.detail}` },
      },
      now,
      deps,
    );
  }
  const seconds = Math.min(
    state.input.playbook.health_check_interval_seconds,
    Math.max(1, Math.ceil((plan.healthDeadlineAt - now) / 1000)),
  );
  return { ...state, outcome: 'pending', wait: { seconds: clampWait(seconds, state, now) } };
}

async function clusterVerdict(state: RecoveryState, plan: Plan, deps: WorkflowDeps): Promise<Verdict> {
  const clusterId = state.input.clusterId;
  if (clusterId === undefined) throw new TaskInputError('a cluster health check needs a cluster id');
  const client = deps.databricks(state.input.workspaceId);
  const cluster = await readCluster(client, clusterId, deps);
  if (cluster === undefined) {
    return {
      kind: 'failed',
      failure: { kind: 'terminated', reason: `cluster ${clusterId} no longer exists` },
    };
  }
  const clusterState = cluster.state ?? 'UNKNOWN';
  if (FAILED_STATES.has(clusterState)) {
    const code = cluster.termination_reason?.code;
    return {
      kind: 'failed',
      ...(cluster.termination_reason?.type === 'SUCCESS' ? { stopped: true } : {}),
      failure: {
        kind: 'terminated',
        reason: `the cluster is ${clusterState}${code === undefined ? '' : ` (${code})`} after: ${plan.description}`,
      },
      evidence: evidenceOf(cluster),
      // A node type short of capacity is not tried again (the classifier says which terminations blame it).
      ...(isCapacityShortage(cluster.termination_reason) && cluster.node_type_id !== undefined
        ? { failedNodeType: cluster.node_type_id }
        : {}),
    };
  }
  if (clusterState !== 'RUNNING') return { kind: 'not_yet', detail: `the cluster is still ${clusterState}` };
  const restartedAt = cluster.last_restarted_time;
  if (
    plan.baselineRestartedTime !== undefined &&
    (restartedAt === undefined || restartedAt <= plan.baselineRestartedTime)
  ) {
    return { kind: 'not_yet', detail: 'the cluster has not restarted since the remediation yet' };
  }
  return driverVerdict(cluster, restartedAt ?? plan.baselineRestartedTime, state, deps, client);
}

/**
 * The driver since the (re)start: a DRIVER_NOT_RESPONDING followed by a DRIVER_HEALTHY is healthy (a
 * GC pause, a driver Databricks recovered); one still unanswered is given one poll interval to come
 * back, then fails the attempt.
 */
async function driverVerdict(
  cluster: ClusterDetails,
  since: number | undefined,
  state: RecoveryState,
  deps: WorkflowDeps,
  client: ReturnType<WorkflowDeps['databricks']>,
): Promise<Verdict> {
  const events = await recentEvents(client, cluster.cluster_id, DRIVER_EVENT_TYPES, deps, since);
  const driver = driverEventsOf(events, since);
  const silentSince = driver.lastNotResponding;
  if (silentSince !== undefined && (driver.lastHealthy ?? 0) < silentSince) {
    const graceMs = state.input.playbook.health_check_interval_seconds * 1000;
    if (deps.clock() - silentSince < graceMs) {
      return {
        kind: 'not_yet',
        detail: `the driver has not responded since ${new Date(silentSince).toISOString()}; waiting for DRIVER_HEALTHY`,
      };
    }
    const unresponsive = events.find(
      (event) => event.type === 'DRIVER_NOT_RESPONDING' && event.timestamp === silentSince,
    );
    return {
      kind: 'failed',
      failure: {
        kind: 'driver_unresponsive',
        reason: `the driver stopped responding again at ${new Date(silentSince).toISOString()}${
          unresponsive?.details?.driver_state_message ? ` (${unresponsive.details.driver_state_message})` : ''
        } and has not recovered`,
      },
      evidence: evidenceOf(cluster),
    };
  }
  return {
    kind: 'healthy',
    detail: `RUNNING with a responsive driver since ${new Date(since ?? 0).toISOString()}`,
  };
}

async function runVerdict(state: RecoveryState, plan: Plan, deps: WorkflowDeps): Promise<Verdict> {
  const runId = plan.runId ?? state.input.runId;
  if (runId === undefined) throw new TaskInputError('a run health check needs a run id');
  const run = await readRun(deps.databricks(state.input.workspaceId), runId, deps);
  if (run === undefined)
    return { kind: 'failed', failure: { kind: 'run_failed', reason: `run ${runId} no longer exists` } };
  // Without a repair (the run had succeeded before one was needed), the run itself is the subject.
  const repair =
    plan.repairId === undefined ? undefined : run.repair_history?.find((entry) => entry.id === plan.repairId);
  const subject = repair ?? run;
  const life = runLifeCycle(subject);
  const result = runResult(subject);
  const what = repair === undefined ? `run ${runId}` : `repair ${plan.repairId} of run ${runId}`;
  if (life === undefined || !TERMINAL_RUN_STATES.has(life)) {
    return { kind: 'not_yet', detail: `${what} is still ${life ?? 'in progress'}` };
  }
  if (runSucceeded(subject)) return { kind: 'healthy', detail: `${what} succeeded` };
  const details = subject.status?.termination_details ?? run.status?.termination_details;
  return {
    kind: 'failed',
    failure: {
      kind: 'run_failed',
      reason: `${what} ended ${result ?? life}${details?.message ? `: ${details.message}` : ''}`,
    },
    evidence: {
      run_id: runId,
      ...(run.run_page_url === undefined ? {} : { run_page_url: run.run_page_url }),
      ...(details === undefined ? {} : { termination_details: details }),
    },
  };
}

async function healthy(state: RecoveryState, detail: string, deps: WorkflowDeps): Promise<RecoveryState> {
  const { input, plan } = state;
  await audit(deps, state, 'health_check_passed', { attempt: state.attempt, phase: state.phase, detail });
  deps.logger.info('cluster healthy', {
    ticketId: input.ticketId,
    clusterId: input.clusterId,
    runId: input.runId,
    attempt: state.attempt,
    detail,
  });
  // A failed run on the (now healthy) all-purpose cluster is repaired next, before anything else.
  if (plan?.subject === 'cluster' && repairsRunAfterCluster(state)) {
    await audit(deps, state, 'run_repair_scheduled', { runId: input.runId });
    return { ...state, phase: 'remediate', outcome: 'retry', runRepair: 'due', wait: { seconds: 1 } };
  }
  if (state.original !== undefined && input.playbook.restore_original_config && state.restore === undefined) {
    return { ...state, outcome: 'restore', wait: { seconds: 1 } };
  }
  return { ...state, outcome: 'healthy', wait: { seconds: 1 } };
}

async function failAttempt(
  state: RecoveryState,
  verdict: Extract<Verdict, { kind: 'failed' }>,
  now: number,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  const { input } = state;
  const { failure } = verdict;
  const reason = failure.reason;
  await audit(deps, state, 'attempt_failed', {
    attempt: state.attempt,
    phase: state.phase,
    reason,
    ...(verdict.evidence === undefined ? {} : { evidence: verdict.evidence }),
  });
  deps.logger.warn('remediation attempt failed', {
    ticketId: input.ticketId,
    attempt: state.attempt,
    reason,
  });
  const failedNodeTypes = [
    ...new Set([
      ...(state.failedNodeTypes ?? []),
      ...(verdict.failedNodeType === undefined ? [] : [verdict.failedNodeType]),
    ]),
  ];
  const failed: RecoveryState = {
    ...state,
    ...(failedNodeTypes.length > 0 ? { failedNodeTypes } : {}),
    lastFailure: { kind: failure.kind, reason },
  };
  if (verdict.stopped === true) {
    // Someone stopped the cluster (or it auto-terminated) after the remediation: not a failed
    // attempt. The next Remediate's guard sees it and closes the ticket without starting it again.
    return { ...failed, phase: 'remediate', outcome: 'retry', wait: { seconds: clampWait(1, state, now) } };
  }
  const max = input.playbook.max_attempts;
  if (state.attempt >= max) {
    return escalateWith(
      failed,
      `recovery failed after ${state.attempt} attempt${state.attempt === 1 ? '' : 's'} (max_attempts ${max}): ${reason}`,
      verdict.evidence,
    );
  }
  const seconds = backoffSeconds(input.playbook, state.attempt + 1);
  if (seconds >= remainingSeconds(state, now)) {
    return escalateWith(
      failed,
      `no time is left within timeout_seconds (${input.playbook.timeout_seconds} s) for attempt ${state.attempt + 1}: ${reason}`,
      verdict.evidence,
    );
  }
  await audit(deps, state, 'retry_scheduled', { nextAttempt: state.attempt + 1, backoffSeconds: seconds });
  return {
    ...failed,
    attempt: state.attempt + 1,
    phase: 'remediate',
    outcome: 'retry',
    wait: { seconds: clampWait(seconds, state, now) },
  };
}
