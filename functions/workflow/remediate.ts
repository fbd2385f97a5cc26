/**
 * The `remediate` task: on the first call it takes the ticket over (open or in_progress, both are
 * fine: the intake moves it to in_progress after starting the execution and may lose the race), then
 * it reads the cluster (or the job run), decides with `plan.ts`, and carries the decision out. In
 * shadow mode it records what it would have done and changes nothing.
 *
 * Step Functions re-runs the task with the same input after a throw or a Lambda timeout, so every
 * configuration change is recorded in the audit trail BEFORE it is sent, and read back before
 * deciding: a retry then finishes that change instead of deciding afresh on a cluster it already
 * changed.
 */

import { classifyJobFailure } from '../core/classifier/classify.ts';
import { type ClusterPolicy, parsePolicyDefinition } from '../core/cluster-policy.ts';
import type { Action } from '../core/error-types.ts';
import { ERROR_TYPE_INFO, type ErrorType } from '../core/error-types.ts';
import { executionNameFor } from '../core/incident.ts';
import { analyzeJobRun } from '../core/job-run.ts';
import { launchThrottleSeconds, NEVER_RETRY } from '../core/playbooks.ts';
import type { ClusterDetails, ClusterEvent, Run } from '../core/schemas/databricks.ts';
import { TicketStateError } from '../core/ticket.ts';
import * as z from '../core/zod.ts';
import {
  DatabricksApiError,
  DatabricksThrottledError,
  isInvalidState,
  isNotFound,
  isThrottled,
} from '../databricks/errors.ts';
import type { WorkflowDatabricks, WorkflowDeps } from './deps.ts';
import {
  DRIVER_EVENT_TYPES,
  driverEventsOf,
  driverEventsSince,
  type GuardVerdict,
  guard,
  needsDriverEvents,
} from './guard.ts';
import {
  CONFIG_CHANGE_EVENT,
  type ConfigChange,
  ConfigChangeSchema,
  type OriginalConfig,
  type Plan,
  type Primitive,
  type RecoveryInput,
  type RecoveryState,
} from './model.ts';
import {
  type ConfigDecision,
  type Decision,
  escalation,
  evidenceOf,
  mergeOriginal,
  needsEditHistory,
  needsPolicy,
  planClusterRemediation,
} from './plan.ts';
import {
  audit,
  callOptions,
  clampWait,
  escalateUntried,
  escalateWith,
  remainingSeconds,
  settleSeconds,
  without,
} from './support.ts';

const RESOLVED = new Set(['closed', 'escalated', 'suppressed']);
/** Terminal run states, in the deprecated `state.life_cycle_state` and in `status.state` alike. */
export const TERMINAL_RUN_STATES: ReadonlySet<string> = new Set(['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR']);
/** Successful ends: `state.result_state`, or `status.termination_details.code` (api-facts §4.1). */
const SUCCESSFUL_RESULTS = new Set(['SUCCESS', 'SUCCESS_WITH_FAILURES']);
/** Actions whose remediation may change the cluster's configuration. */
const CONFIG_ACTIONS: ReadonlySet<Action> = new Set([
  'restart_with_different_instance_type',
  'restart_with_on_demand',
  'rollback_config',
]);
/** States an INVALID_STATE answer may name when someone else is already bringing the cluster up. */
const ALREADY_STARTING = new Set(['PENDING', 'RESTARTING', 'RESIZING', 'RUNNING']);

/** The first task: takes the ticket over and creates the state. */
export async function takeOver(input: RecoveryInput, deps: WorkflowDeps): Promise<RecoveryState> {
  const now = deps.clock();
  const state: RecoveryState = {
    input,
    attempt: 1,
    startedAt: now,
    deadlineAt: now + input.playbook.timeout_seconds * 1000,
    phase: 'remediate',
    outcome: 'verify',
    wait: { seconds: 1 },
  };
  const found = await deps.tickets.getTicket(input.ticketId);
  if (found === undefined) {
    return escalateUntried(state, `ticket ${input.ticketId} does not exist; nothing was changed`);
  }
  const status = found.ticket.status;
  if (RESOLVED.has(status)) {
    deps.logger.info('ticket already resolved; the workflow leaves it alone', {
      ticketId: input.ticketId,
      status,
    });
    return { ...state, outcome: 'skip' };
  }
  if (status === 'open') {
    try {
      await deps.tickets.transition(input.ticketId, {
        from: ['open'],
        to: 'in_progress',
        // The execution name too: should the intake's own move lose the race, the reconciler still
        // finds the execution of this in_progress ticket.
        patch: {
          recoveryStatus: input.playbook.mode === 'shadow' ? 'shadow' : 'in_progress',
          executionName: executionNameFor(input.ticketId, input.retry),
        },
        audit: {
          event: 'workflow_took_over',
          actor: deps.actor ?? 'workflow',
          details: { mode: input.playbook.mode },
        },
      });
    } catch (error) {
      // The intake moved it first: the ticket is in_progress either way.
      if (!(error instanceof TicketStateError) || error.currentStatus !== 'in_progress') throw error;
    }
  }
  return state;
}

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
  let decision = planClusterRemediation(planning);
  if (needsPolicy(planning, decision) && cluster.policy_id !== undefined) {
    const policy = await readPolicy(client, cluster.policy_id, deps);
    if (policy !== undefined) decision = planClusterRemediation({ ...planning, policy });
  }
  if (decision.kind === 'repair_run') return remediateRun(known, client, deps);
  return fromDecision(known, decision, cluster, client, deps);
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

/**
 * A failed run on an all-purpose cluster is repaired once the cluster is healthy, when the playbook
 * allows it (`repair_failed_run`). A job cluster's run is the recovery itself (`repair_run`).
 */
export function repairsRunAfterCluster(state: RecoveryState, cluster?: ClusterDetails): boolean {
  const { input } = state;
  return (
    input.runId !== undefined &&
    input.playbook.repair_failed_run !== false &&
    input.action !== 'repair_run' &&
    cluster?.cluster_source !== 'JOB' &&
    state.runRepair === undefined
  );
}

/** A 400 that is not about the cluster's state: Databricks refused the change itself (a pool, a policy). */
function isRefusal(error: unknown): error is DatabricksApiError {
  return (
    error instanceof DatabricksApiError &&
    error.status === 400 &&
    !isInvalidState(error) &&
    !isLaunchThrottle(error)
  );
}

/**
 * Databricks' limit on cluster launches (api-facts §6.2: a token bucket per workspace that refills over
 * minutes, answered `REQUEST_LIMIT_EXCEEDED` with 429 or 400). Seconds of client retries only drain it
 * again, so a launch call gets it back at once and the workflow waits minutes.
 */
function isLaunchThrottle(error: unknown): error is DatabricksThrottledError {
  return error instanceof DatabricksThrottledError && error.errorCode === 'REQUEST_LIMIT_EXCEEDED';
}

/**
 * Databricks refused a configuration change (400): it is recorded as refused — never as a change
 * made — and its values are never tried again; the remediation decides again at once.
 */
async function refused(
  state: RecoveryState,
  decision: ConfigDecision,
  error: DatabricksApiError,
  now: number,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  await audit(deps, state, CONFIG_REFUSED_EVENT, {
    kind: decision.kind,
    attempt: state.attempt,
    fields: [...decision.fields],
    values: decision.values,
    errorCode: error.errorCode,
    message: error.apiMessage,
  });
  deps.logger.warn('Databricks refused a configuration change; it is not tried again', {
    ticketId: state.input.ticketId,
    fields: decision.fields,
    errorCode: error.errorCode,
    message: error.apiMessage,
  });
  const next: RecoveryState = {
    ...state,
    refused: [...(state.refused ?? []), ...refusedValues(decision)],
  };
  return delay(
    next,
    1,
    `Databricks refused ${decision.description} (${error.errorCode}); deciding again`,
    now,
    deps,
  );
}

function refusedValues(change: Pick<ConfigChange, 'fields' | 'values'>): { field: string; value: unknown }[] {
  return change.fields.map((field) => ({ field, value: change.values[field] ?? null }));
}

/** The audit event of a configuration change Databricks refused. */
const CONFIG_REFUSED_EVENT = 'config_change_refused';

/**
 * The configuration changes recorded in the ticket's audit trail and not refused, oldest first, and
 * the values Databricks refused.
 */
async function recordedChanges(
  ticketId: string,
  deps: WorkflowDeps,
): Promise<{ readonly made: ConfigChange[]; readonly refused: { field: string; value: unknown }[] }> {
  const found = await deps.tickets.getTicket(ticketId);
  const entries = found?.audit ?? [];
  const refusals = entries.flatMap((entry) => {
    if (entry.event !== CONFIG_REFUSED_EVENT) return [];
    const change = z.partial(ConfigChangeSchema, { description: true }).safeParse(entry.details);
    return change.success ? [change.data] : [];
  });
  const key = (change: { attempt: number; fields: readonly string[]; values: unknown }) =>
    JSON.stringify([change.attempt, change.fields, change.values]);
  const refusedKeys = new Set(refusals.map(key));
  const made = entries.flatMap((entry) => {
    if (entry.event !== CONFIG_CHANGE_EVENT) return [];
    const change = ConfigChangeSchema.safeParse(entry.details);
    return change.success && !refusedKeys.has(key(change.data)) ? [change.data as ConfigChange] : [];
  });
  return { made, refused: refusals.flatMap((change) => refusedValues(change)) };
}

/** The state as the recorded changes say it is: the original configuration, and whether we rolled back. */
function withRecordedChanges(
  state: RecoveryState,
  changes: readonly ConfigChange[],
  refusals: readonly { field: string; value: unknown }[] = [],
): RecoveryState {
  let original: OriginalConfig | undefined;
  for (const change of changes) {
    if (change.original !== undefined) original = mergeOriginal(original, change.original);
  }
  if (state.original !== undefined) original = mergeOriginal(original, state.original);
  const rolledBack = state.rolledBack === true || changes.some((change) => change.kind === 'rollback');
  const refused = [...(state.refused ?? []), ...refusals];
  return {
    ...state,
    ...(refused.length === 0 ? {} : { refused }),
    ...(original === undefined ? {} : { original }),
    ...(rolledBack ? { rolledBack } : {}),
  };
}

/** Records a configuration change before it is made (see the file comment). */
async function recordChange(
  state: RecoveryState,
  decision: ConfigDecision,
  deps: WorkflowDeps,
): Promise<void> {
  const change: ConfigChange = {
    kind: decision.kind,
    attempt: state.attempt,
    fields: [...decision.fields],
    values: decision.values,
    ...(decision.original === undefined ? {} : { original: decision.original }),
    description: decision.description,
  };
  await audit(deps, state, CONFIG_CHANGE_EVENT, { ...change });
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

async function backOff(state: RecoveryState, now: number, deps: WorkflowDeps): Promise<RecoveryState> {
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

async function fromDecision(
  state: RecoveryState,
  decision: Exclude<Decision, { kind: 'repair_run' }>,
  cluster: ClusterDetails,
  client: WorkflowDatabricks,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  const now = deps.clock();
  if (decision.kind === 'escalate') return escalateWith(state, decision.reason, decision.evidence);
  if ('skippedByPolicy' in decision && decision.skippedByPolicy !== undefined) {
    await audit(deps, state, 'fallback_skipped_by_policy', {
      attempt: state.attempt,
      policyId: cluster.policy_id,
      skipped: decision.skippedByPolicy,
    });
  }
  if (state.input.playbook.mode === 'shadow') return shadow(state, describe(decision), deps);
  if (decision.kind === 'delay') return delay(state, decision.seconds, decision.description, now, deps);
  if (decision.kind === 'backoff') {
    deps.logger.info('remediation backs off first', {
      ticketId: state.input.ticketId,
      description: decision.description,
    });
    return backOff(state, now, deps);
  }
  const clusterId = cluster.cluster_id;
  // Launch calls hand a REQUEST_LIMIT_EXCEEDED back at once: the wait it asks for is minutes (below).
  const options = { ...callOptions(deps), throttledAttempts: 1 };
  let primitive: Primitive;
  let description = decision.description;
  let extra: Partial<RecoveryState> = {};
  let changes: Record<string, unknown> | undefined;
  // The fallback is put back once after a failed restore: the state no longer carries it afterwards.
  const current = decision.kind === 'reapply' ? without(state, 'fallback') : state;
  try {
    switch (decision.kind) {
      case 'start':
        primitive = 'start';
        await client.startCluster(clusterId, options);
        break;
      case 'restart':
        primitive = 'restart';
        await client.restartCluster(clusterId, options);
        break;
      case 'fallback':
      case 'rollback':
      case 'reapply':
        primitive = decision.kind === 'rollback' ? 'rollback_start' : 'fallback_start';
        changes = { ...decision.values };
        extra =
          decision.kind === 'rollback'
            ? { rolledBack: true }
            : decision.original === undefined
              ? {}
              : { original: decision.original };
        if (decision.applied !== true) {
          await recordChange(state, decision, deps);
          try {
            await client.updateCluster(
              { cluster_id: clusterId, update_mask: decision.fields, cluster: decision.values },
              options,
            );
          } catch (error) {
            if (!isRefusal(error)) throw error;
            return refused(state, decision, error, now, deps);
          }
        }
        // An update of a RUNNING cluster restarts it; a TERMINATED one takes it at the next start.
        if (cluster.state === 'TERMINATED') await client.startCluster(clusterId, options);
        else if (decision.applied === true) primitive = 'none';
        break;
      case 'wait':
        primitive = 'wait';
        break;
      case 'none':
        primitive = 'none';
        break;
    }
  } catch (error) {
    if (isLaunchThrottle(error)) return launchThrottled({ ...current, ...extra }, error, now, deps);
    if (!isInvalidState(error)) throw error;
    // Someone else changed the cluster between our read and our call (api-facts §6.5).
    if (error.state !== undefined && ALREADY_STARTING.has(error.state)) {
      primitive = 'wait';
      description = `someone else is already starting the cluster (INVALID_STATE: ${error.state}); waiting for it`;
    } else {
      // What was recorded or changed before the refusal stays known when deciding again.
      return delay(
        { ...current, ...extra },
        state.input.playbook.health_check_interval_seconds,
        `the cluster changed state (${error.state ?? 'unknown'}) before it could be acted on; deciding again`,
        now,
        deps,
      );
    }
  }
  // A resize does not restart the cluster: last_restarted_time stays, so there is no restart to wait for.
  const restarts = !(decision.kind === 'wait' && cluster.state === 'RESIZING');
  return acted(
    without(current, 'launchThrottles'),
    {
      primitive,
      description,
      cluster,
      now,
      restarts,
      ...(changes === undefined ? {} : { changes }),
    },
    extra,
    deps,
  );
}

async function acted(
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

/**
 * Databricks refused a launch for the workspace's launch limit: wait the playbook's
 * `launch_throttle_backoff` (minutes, growing with each refusal in a row), or longer if Databricks asked
 * for longer. It costs no attempt: nothing was tried on the cluster. The next Remediate reads the
 * cluster again and decides afresh (a recorded configuration change is finished then).
 */
async function launchThrottled(
  state: RecoveryState,
  error: DatabricksThrottledError,
  now: number,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  const refusals = (state.launchThrottles ?? 0) + 1;
  const seconds = Math.max(
    launchThrottleSeconds(state.input.playbook, refusals),
    Math.ceil((error.retryAfterMs ?? 0) / 1000),
  );
  await audit(deps, state, 'launch_throttled', { attempt: state.attempt, refusals, seconds });
  deps.metrics?.count('LaunchesThrottled');
  return delay(
    { ...state, launchThrottles: refusals },
    seconds,
    `Databricks refused the launch (REQUEST_LIMIT_EXCEEDED, ${refusals} in a row); waiting ${seconds} s for the workspace's launch limit`,
    now,
    deps,
  );
}

async function delay(
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

async function shadow(state: RecoveryState, wouldDo: string, deps: WorkflowDeps): Promise<RecoveryState> {
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

/** The decision as "what would have been done", for shadow mode. */
function describe(decision: Exclude<Decision, { kind: 'escalate' | 'repair_run' }>): string {
  const text = decision.description;
  if (decision.kind === 'delay' || decision.kind === 'wait' || decision.kind === 'none')
    return `waited: ${text}`;
  return text;
}

// ---- job runs

async function remediateRun(
  state: RecoveryState,
  client: WorkflowDatabricks,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  const { input } = state;
  const now = deps.clock();
  const namedRunId = input.runId;
  if (namedRunId === undefined) {
    return escalateWith(state, 'a job cluster failed but the incident names no run to repair');
  }
  if (isConfigurationClass(input.errorType)) {
    return escalateWith(
      state,
      `${input.errorType} is a configuration-class failure: a repair would fail the same way, so run ${namedRunId} is not repaired blindly; fix the job or cluster configuration`,
      runEvidence(state),
    );
  }
  const shadowMode = input.playbook.mode === 'shadow';
  // Job failures back off before the first repair: the cause is often still there a second later.
  // A run waiting for its all-purpose cluster's recovery does not: the cluster is healthy now.
  if (!shadowMode && state.attempt === 1 && state.backedOff !== true && state.runRepair !== 'due') {
    const seconds = input.playbook.backoff.initial_seconds;
    if (seconds < remainingSeconds(state, now)) {
      await audit(deps, state, 'backoff_scheduled', { attempt: state.attempt, seconds, runId: namedRunId });
      return {
        ...state,
        outcome: 'delay',
        backedOff: true,
        wait: { seconds: clampWait(seconds, state, now) },
      };
    }
  }
  const found = await readParentRun(client, namedRunId, deps);
  if (found === undefined)
    return escalateUntried(state, `run ${namedRunId} no longer exists; nothing to repair`);
  const { run, runId } = found;
  // A job failure's signal carries no cluster context: the run as it is now must not be a
  // configuration-class failure either (INVALID_CLUSTER_REQUEST, a library…).
  if (input.signal.kind === 'job_failure') {
    const fresh = classifyJobFailure(analyzeJobRun({ jobId: input.jobId ?? '', runId }, run, []).job);
    if (fresh.errorType !== undefined && isConfigurationClass(fresh.errorType)) {
      return escalateWith(
        state,
        `run ${runId} failed with a configuration-class failure (${fresh.code ?? fresh.errorType}: ${fresh.reason}); it is not repaired blindly`,
        runEvidence(state, run),
      );
    }
  }
  const life = runLifeCycle(run);
  if (life === undefined || !TERMINAL_RUN_STATES.has(life)) {
    if (shadowMode) return shadow(state, `waited for run ${runId} to finish, then repaired it`, deps);
    return delay(
      state,
      input.playbook.health_check_interval_seconds,
      `run ${runId} is still ${life ?? 'in progress'}; a run can be repaired once it has finished`,
      now,
      deps,
    );
  }
  if (runSucceeded(run)) {
    if (shadowMode) return shadow(state, `verified run ${runId}, which succeeded already`, deps);
    return acted(
      state,
      { primitive: 'none', description: `run ${runId} has succeeded already`, now, subject: 'run', runId },
      state.runRepair === 'due' ? { runRepair: 'done' } : {},
      deps,
    );
  }
  const latest = latestRepairId(run);
  const description = `repaired run ${runId} (rerun_all_failed_tasks${latest === undefined ? '' : `, latest_repair_id ${latest}`})`;
  if (shadowMode) return shadow(state, description, deps);
  let repairId: string;
  try {
    const repaired = await client.repairRun(
      {
        run_id: runId,
        rerun_all_failed_tasks: true,
        ...(latest === undefined ? {} : { latest_repair_id: latest }),
      },
      callOptions(deps),
    );
    repairId = repaired.repair_id;
  } catch (error) {
    if (!isInvalidState(error)) throw error;
    return delay(
      state,
      input.playbook.health_check_interval_seconds,
      `run ${runId} cannot be repaired yet (${error.apiMessage})`,
      now,
      deps,
    );
  }
  return acted(
    state,
    { primitive: 'repair', description, now, repairId, subject: 'run', runId },
    state.runRepair === 'due' ? { runRepair: 'done' } : {},
    deps,
  );
}

/** Error categories a repair cannot fix: the configuration must change first. */
const CONFIGURATION_CATEGORIES: ReadonlySet<string> = new Set([
  'configuration',
  'permissions',
  'init_script',
  'library',
  'image',
  'account',
]);

/** Configuration-class failures are never repaired (or retried) blindly. */
export function isConfigurationClass(errorType: string): boolean {
  if (NEVER_RETRY.has(errorType as ErrorType)) return true;
  const info = ERROR_TYPE_INFO[errorType as ErrorType];
  return info !== undefined && CONFIGURATION_CATEGORIES.has(info.category);
}

function runEvidence(state: RecoveryState, run?: Run): Record<string, unknown> {
  const job = state.input.signal.job;
  const details = run?.status?.termination_details;
  return {
    ...(state.input.runId === undefined ? {} : { run_id: state.input.runId }),
    ...(job?.terminationCode === undefined ? {} : { run_termination_code: job.terminationCode }),
    ...(job?.message === undefined ? {} : { run_message: job.message }),
    ...(run?.run_page_url === undefined ? {} : { run_page_url: run.run_page_url }),
    ...(details === undefined ? {} : { termination_details: details }),
  };
}

/**
 * The run to repair: a run id read from a job cluster's name may be a task run id, whose repair must
 * go to its parent run (`parent_run_id` of `runs/get`).
 */
export async function readParentRun(
  client: WorkflowDatabricks,
  runId: string,
  deps: WorkflowDeps,
): Promise<{ readonly run: Run; readonly runId: string } | undefined> {
  const run = await readRun(client, runId, deps);
  if (run === undefined) return undefined;
  const parent = (run as { parent_run_id?: unknown }).parent_run_id;
  const parentId = typeof parent === 'number' || typeof parent === 'string' ? String(parent) : undefined;
  if (parentId === undefined || parentId === runId) return { run, runId };
  const parentRun = await readRun(client, parentId, deps);
  return parentRun === undefined ? { run, runId } : { run: parentRun, runId: parentId };
}

/** The id of the run's latest repair, which Databricks requires on every repair after the first. */
export function latestRepairId(run: Run): string | undefined {
  return (run.repair_history ?? [])
    .filter((entry) => entry.type === 'REPAIR' && entry.id !== undefined)
    .at(-1)?.id;
}

export function runLifeCycle(run: Pick<Run, 'state' | 'status'>): string | undefined {
  return run.state?.life_cycle_state ?? run.status?.state;
}

/** How a run (or a repair) ended: the deprecated `state.result_state`, else `status.termination_details.code`. */
export function runResult(run: Pick<Run, 'state' | 'status'>): string | undefined {
  return run.state?.result_state ?? run.status?.termination_details?.code;
}

export function runSucceeded(run: Pick<Run, 'state' | 'status'>): boolean {
  return SUCCESSFUL_RESULTS.has(runResult(run) ?? '');
}

// ---- reads

export async function readCluster(
  client: WorkflowDatabricks,
  clusterId: string,
  deps: WorkflowDeps,
): Promise<ClusterDetails | undefined> {
  try {
    return await client.getCluster(clusterId, callOptions(deps));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function readRun(
  client: WorkflowDatabricks,
  runId: string,
  deps: WorkflowDeps,
): Promise<Run | undefined> {
  try {
    return await client.getRun(runId, { include_history: true }, callOptions(deps));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * The cluster's policy, to judge a fallback before it is sent. A policy that no longer exists forbids
 * every edit; one that cannot be read (no permission, a definition that is not JSON) is left to
 * Databricks, whose refusal is recorded as refused. Transient faults throw (the task is retried).
 */
async function readPolicy(
  client: WorkflowDatabricks,
  policyId: string,
  deps: WorkflowDeps,
): Promise<ClusterPolicy | undefined> {
  try {
    const found = await client.getClusterPolicy(policyId, callOptions(deps));
    const definition = parsePolicyDefinition(found.definition, found.policy_family_definition_overrides);
    if (definition !== undefined) {
      return { policyId, ...(found.name === undefined ? {} : { name: found.name }), definition };
    }
    deps.logger.warn('the cluster policy definition is not a JSON object; fallbacks are left to Databricks', {
      policyId,
    });
    return undefined;
  } catch (error) {
    if (isNotFound(error)) return { policyId, gone: true };
    if (error instanceof DatabricksApiError && error.status < 500 && !isThrottled(error)) {
      deps.logger.warn('the cluster policy cannot be read; fallbacks are left to Databricks', {
        policyId,
        errorCode: error.errorCode,
      });
      return undefined;
    }
    throw error;
  }
}

/** The newest events of the given types (one page, newest first). */
export async function recentEvents(
  client: WorkflowDatabricks,
  clusterId: string,
  types: readonly string[],
  deps: WorkflowDeps,
  startTime?: number,
): Promise<ClusterEvent[]> {
  const page = await client.listClusterEvents(
    {
      cluster_id: clusterId,
      event_types: types,
      order: 'DESC',
      page_size: 25,
      ...(startTime === undefined ? {} : { start_time: startTime }),
    },
    callOptions(deps),
  );
  return page.events;
}
