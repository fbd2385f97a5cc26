/**
 * The `remediate` task: reads the cluster (or the job run) afresh, asks the guard whether the
 * failure is still there and the cluster ours (`guard.ts`), decides with the planner (`plan.ts`), and
 * carries the decision out (`cluster-remediation.ts`, `repair-run.ts`). On the execution input it
 * takes the ticket over first (`take-over.ts`, called by `tasks.ts`).
 *
 * Configuration changes are recorded in the audit trail before they are sent and read back here
 * before deciding (`config-changes.ts`): a retried task finishes that change instead of deciding
 * afresh on a cluster it already changed.
 */
import type { Action } from '../core/error-types.ts';
import type { ClusterDetails } from '../core/schemas/databricks.ts';
import { evidenceOf } from './cluster-config.ts';
import { carryOut } from './cluster-remediation.ts';
import { recordedChanges, withRecordedChanges } from './config-changes.ts';
import type { Decision } from './decision.ts';
import type { WorkflowDatabricks, WorkflowDeps } from './deps.ts';
import {
  DRIVER_EVENT_TYPES,
  driverEventsOf,
  driverEventsSince,
  type GuardVerdict,
  guard,
  needsDriverEvents,
} from './guard.ts';
import type { RecoveryState } from './model.ts';
import { backOff } from './outcomes.ts';
import { escalation, needsEditHistory, needsPolicy, planClusterRemediation } from './plan.ts';
import { readCluster, readPolicy, recentEvents } from './reads.ts';
import { remediateRun } from './repair-run.ts';
import { repairsRunAfterCluster } from './runs.ts';
import { audit, escalateUntried, escalateWith } from './support.ts';

/** Actions whose remediation may change the cluster's configuration. */
const CONFIG_ACTIONS: ReadonlySet<Action> = new Set([
  'restart_with_different_instance_type',
  'restart_with_on_demand',
  'rollback_config',
]);

export async function remediate(state: RecoveryState, deps: WorkflowDeps): Promise<RecoveryState> {
  const now = deps.clock();
  const { input } = state;
  if (now >= state.deadlineAt) {
    return escalateWith(
      state,
      `the recovery did not succeed within timeout_seconds (${input.playbook.timeout_seconds} s)`,
    );
  }
  const client = deps.databricks(input.workspaceId);
  if (input.action === 'escalate') return escalateWithEvidence(state, client, deps);
  if (input.action === 'repair_run') return remediateRun(state, client, deps);
  if (input.clusterId === undefined) {
    if (input.runId !== undefined) return remediateRun(state, client, deps);
    return escalateUntried(state, 'the incident names no cluster and no job run to act on');
  }
  const cluster = await readCluster(client, input.clusterId, deps);
  if (cluster === undefined) {
    return escalateUntried(state, `cluster ${input.clusterId} no longer exists; nothing to recover`);
  }
  if (state.runRepair === 'due') return remediateRun(state, client, deps);
  // The guard, on the cluster as it is now: only `act` lets a mutating call through.
  const verdict = await guardCluster(state, cluster, client, deps);
  if (verdict.kind === 'escalate') return escalateWith(state, verdict.reason, evidenceOf(cluster));
  if (verdict.kind === 'resolved') {
    // The cluster needs nothing, but a failed run on it still does (once the cluster is healthy).
    if (
      repairsRunAfterCluster(state, cluster) &&
      (verdict.resolution === 'already_running' || verdict.resolution === 'healed_by_databricks')
    ) {
      return remediateRun({ ...state, runRepair: 'due' }, client, deps);
    }
    return resolved(state, verdict, deps);
  }
  if (needsBackoff(state)) return backOff(state, now, deps);
  const { known, decision } = await decide(state, cluster, client, now, deps);
  if (decision.kind === 'repair_run') return remediateRun(known, client, deps);
  return carryOut(known, decision, cluster, client, deps);
}

/**
 * The planner's decision on the cluster as it is now, with what the audit trail says this recovery
 * changed already, and the reads the planner asks for: the edit history (a rollback) and the
 * cluster's policy (a fallback on a cluster that has one).
 */
async function decide(
  state: RecoveryState,
  cluster: ClusterDetails,
  client: WorkflowDatabricks,
  now: number,
  deps: WorkflowDeps,
): Promise<{ readonly known: RecoveryState; readonly decision: Decision }> {
  const { input } = state;
  const recorded = CONFIG_ACTIONS.has(input.action)
    ? await recordedChanges(input.ticketId, deps)
    : { made: [], refused: [] };
  const changes = recorded.made;
  const known = withRecordedChanges(state, changes, recorded.refused);
  const context = { input, state: known, cluster, changes };
  const editHistory = needsEditHistory(context)
    ? await recentEvents(client, cluster.cluster_id, ['EDITED', 'RUNNING'], deps)
    : undefined;
  const planning = {
    ...context,
    pollSeconds: input.playbook.health_check_interval_seconds,
    now,
    ...(editHistory === undefined ? {} : { editHistory }),
  };
  const decision = planClusterRemediation(planning);
  if (needsPolicy(planning, decision) && cluster.policy_id !== undefined) {
    const policy = await readPolicy(client, cluster.policy_id, deps);
    if (policy !== undefined) return { known, decision: planClusterRemediation({ ...planning, policy }) };
  }
  return { known, decision };
}

/** Reads what the guard needs (the driver's events only when it asks) and asks it. */
async function guardCluster(
  state: RecoveryState,
  cluster: ClusterDetails,
  client: WorkflowDatabricks,
  deps: WorkflowDeps,
): Promise<GuardVerdict> {
  const { input } = state;
  const base = {
    signal: input.signal,
    errorType: input.errorType,
    cluster,
    acted: state.plan !== undefined,
    now: deps.clock(),
    // A driver loss older than the whole recovery budget is history, not a present failure.
    recentMs: input.playbook.timeout_seconds * 1000,
  };
  if (!needsDriverEvents(base)) return guard(base);
  const since = driverEventsSince(base);
  const events = await recentEvents(client, cluster.cluster_id, DRIVER_EVENT_TYPES, deps, since);
  return guard({ ...base, driver: driverEventsOf(events, since) });
}

/** The failure is gone: the ticket closes as resolved without (further) action; nothing is changed. */
async function resolved(
  state: RecoveryState,
  verdict: Extract<GuardVerdict, { kind: 'resolved' }>,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  await audit(deps, state, 'failure_no_longer_present', {
    attempt: state.attempt,
    resolution: verdict.resolution,
    reason: verdict.reason,
  });
  deps.logger.info('the failure is no longer present; nothing is changed', {
    ticketId: state.input.ticketId,
    clusterId: state.input.clusterId,
    resolution: verdict.resolution,
    reason: verdict.reason,
  });
  return {
    ...state,
    outcome: 'resolved',
    resolution: { kind: verdict.resolution, reason: verdict.reason },
    wait: { seconds: 1 },
  };
}

/** No safe automatic action: read (never change) what a human needs to see, and escalate. */
async function escalateWithEvidence(
  state: RecoveryState,
  client: WorkflowDatabricks,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  const clusterId = state.input.clusterId;
  const cluster = clusterId === undefined ? undefined : await readCluster(client, clusterId, deps);
  const events =
    cluster === undefined
      ? []
      : await recentEvents(client, cluster.cluster_id, ['INIT_SCRIPTS_FINISHED'], deps);
  const decision = escalation(state.input, cluster, events);
  const run = state.input.signal.job;
  const evidence = {
    ...decision.evidence,
    ...(run?.terminationCode === undefined ? {} : { run_termination_code: run.terminationCode }),
    ...(run?.message === undefined ? {} : { run_message: run.message }),
  };
  return escalateWith(state, decision.reason, evidence);
}

/** Throttled starts wait out their back-off before the first attempt. */
function needsBackoff(state: RecoveryState): boolean {
  return (
    state.input.action === 'retry_with_backoff' &&
    state.attempt === 1 &&
    state.backedOff !== true &&
    state.input.playbook.mode === 'active'
  );
}
