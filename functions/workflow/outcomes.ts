/**
 * The states a Remediate task ends in, shared by the cluster remediation and the run repair: a
 * remediation started, a delay before deciding again, a back-off before the first attempt, or (in
 * shadow mode) what would have been done.
 */
import type { ClusterDetails } from '../core/schemas/databricks.ts';
import type { WorkflowDeps } from './deps.ts';
import type { Plan, Primitive, RecoveryState } from './model.ts';
import { audit, clampWait, escalateWith, remainingSeconds, settleSeconds, without } from './support.ts';

/**
 * A remediation was carried out (or, for `none` and `wait`, nothing needed doing): audited, and the
 * state moves on to verify its health after the primitive's usual settle time.
 */
export async function remediationStarted(
  state: RecoveryState,
  action: {
    readonly primitive: Primitive;
    readonly description: string;
    readonly cluster?: ClusterDetails;
    readonly now: number;
    readonly changes?: Record<string, unknown>;
    readonly repairId?: string;
    readonly subject?: 'cluster' | 'run';
    /** The run repaired (the parent run of a task run id). */
    readonly runId?: string;
    /** Whether the cluster must (re)start after this action to count as healthy. @default true */
    readonly restarts?: boolean;
  },
  extra: Partial<RecoveryState>,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  const { primitive, description, cluster, now } = action;
  const baseline =
    primitive === 'none' || action.restarts === false ? undefined : cluster?.last_restarted_time;
  const plan: Plan = {
    subject: action.subject ?? 'cluster',
    primitive,
    description,
    actedAt: now,
    healthDeadlineAt: now + state.input.playbook.health_check_timeout * 1000,
    ...(baseline === undefined ? {} : { baselineRestartedTime: baseline }),
    ...(action.repairId === undefined ? {} : { repairId: action.repairId }),
    ...(action.runId === undefined ? {} : { runId: action.runId }),
    ...(action.changes === undefined ? {} : { changes: action.changes }),
  };
  await audit(deps, state, 'remediation_started', {
    attempt: state.attempt,
    primitive,
    description,
    ...(cluster?.state === undefined ? {} : { clusterState: cluster.state }),
    ...(action.changes === undefined ? {} : { changes: action.changes }),
    ...(action.repairId === undefined ? {} : { repairId: action.repairId }),
  });
  deps.logger.info('executing remediation', {
    ticketId: state.input.ticketId,
    clusterId: state.input.clusterId,
    runId: state.input.runId,
    attempt: state.attempt,
    primitive,
    description,
  });
  deps.metrics?.count('RemediationsStarted');
  const next: RecoveryState = {
    ...without(state, 'lastFailure', 'escalation', 'error'),
    ...extra,
    phase: 'verify',
    outcome: 'verify',
    plan,
    actions: [...(state.actions ?? []), description],
    wait: { seconds: settleSeconds(state, primitive, now) },
  };
  return next;
}

/** Waits `seconds` before deciding again; escalates when the recovery's time would run out first. */
export async function delay(
  state: RecoveryState,
  seconds: number,
  description: string,
  now: number,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  if (seconds >= remainingSeconds(state, now)) {
    return escalateWith(
      state,
      `the recovery cannot finish within timeout_seconds (${state.input.playbook.timeout_seconds} s): ${description}`,
    );
  }
  deps.logger.info('remediation delayed', { ticketId: state.input.ticketId, seconds, description });
  return { ...state, outcome: 'delay', wait: { seconds: clampWait(seconds, state, now) } };
}

/** Shadow mode: records what would have been done, changes nothing, and ends the recovery. */
export async function shadow(
  state: RecoveryState,
  wouldDo: string,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  await audit(deps, state, 'shadow_plan', { attempt: state.attempt, wouldDo });
  deps.logger.info('shadow mode: recorded the remediation without running it', {
    ticketId: state.input.ticketId,
    wouldDo,
  });
  return {
    ...state,
    outcome: 'shadow',
    wait: { seconds: 1 },
    escalation: { reason: `shadow mode: would have ${wouldDo}; nothing was changed` },
  };
}

/** The back-off before the first attempt (throttles, a drained pool): once, within the recovery's time. */
export async function backOff(state: RecoveryState, now: number, deps: WorkflowDeps): Promise<RecoveryState> {
  const seconds = state.input.playbook.backoff.initial_seconds;
  if (seconds >= remainingSeconds(state, now)) {
    return escalateWith(
      state,
      'no time is left within timeout_seconds for the back-off before the first attempt',
    );
  }
  await audit(deps, state, 'backoff_scheduled', { attempt: state.attempt, seconds });
  return { ...state, outcome: 'delay', backedOff: true, wait: { seconds: clampWait(seconds, state, now) } };
}
