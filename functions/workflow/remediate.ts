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

import type { Action } from '../core/error-types.ts';
import { executionNameFor } from '../core/incident.ts';
import type { ClusterDetails, ClusterEvent, Run } from '../core/schemas/databricks.ts';
import { isInvalidState, isNotFound } from '../databricks/errors.ts';
import { TicketStateError } from '../store/tickets.ts';
import type { WorkflowDatabricks, WorkflowDeps } from './deps.ts';
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
  mergeOriginal,
  needsEditHistory,
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
  if (needsBackoff(state)) return backOff(state, now, deps);
  const changes = CONFIG_ACTIONS.has(input.action) ? await recordedChanges(input.ticketId, deps) : [];
  const known = withRecordedChanges(state, changes);
  const context = { input, state: known, cluster, changes };
  const editHistory = needsEditHistory(context)
    ? await recentEvents(client, cluster.cluster_id, ['EDITED', 'RUNNING'], deps)
    : undefined;
  const decision = planClusterRemediation({
    ...context,
    pollSeconds: input.playbook.health_check_interval_seconds,
    ...(editHistory === undefined ? {} : { editHistory }),
  });
  if (decision.kind === 'repair_run') return remediateRun(known, client, deps);
  return fromDecision(known, decision, cluster, client, deps);
}

/** The configuration changes recorded in the ticket's audit trail, oldest first. */
async function recordedChanges(ticketId: string, deps: WorkflowDeps): Promise<ConfigChange[]> {
  const found = await deps.tickets.getTicket(ticketId);
  return (found?.audit ?? []).flatMap((entry) => {
    if (entry.event !== CONFIG_CHANGE_EVENT) return [];
    const change = ConfigChangeSchema.safeParse(entry.details);
    return change.success ? [change.data as ConfigChange] : [];
  });
}

/** The state as the recorded changes say it is: the original configuration, and whether we rolled back. */
function withRecordedChanges(state: RecoveryState, changes: readonly ConfigChange[]): RecoveryState {
  let original: OriginalConfig | undefined;
  for (const change of changes) {
    if (change.original !== undefined) original = mergeOriginal(original, change.original);
  }
  if (state.original !== undefined) original = mergeOriginal(original, state.original);
  const rolledBack = state.rolledBack === true || changes.some((change) => change.kind === 'rollback');
  return {
    ...state,
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
  if (state.input.playbook.mode === 'shadow') return shadow(state, describe(decision), deps);
  if (decision.kind === 'delay') return delay(state, decision.seconds, decision.description, now, deps);
  const clusterId = cluster.cluster_id;
  const options = callOptions(deps);
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
          await client.updateCluster(
            { cluster_id: clusterId, update_mask: decision.fields, cluster: decision.values },
            options,
          );
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
    current,
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
  const runId = input.runId;
  if (runId === undefined) {
    return escalateWith(state, 'a job cluster failed but the incident names no run to repair');
  }
  const shadowMode = input.playbook.mode === 'shadow';
  // Job failures back off before the first repair: the cause is often still there a second later.
  if (!shadowMode && state.attempt === 1 && state.backedOff !== true) {
    const seconds = input.playbook.backoff.initial_seconds;
    if (seconds < remainingSeconds(state, now)) {
      await audit(deps, state, 'backoff_scheduled', { attempt: state.attempt, seconds, runId });
      return {
        ...state,
        outcome: 'delay',
        backedOff: true,
        wait: { seconds: clampWait(seconds, state, now) },
      };
    }
  }
  const run = await readRun(client, runId, deps);
  if (run === undefined) return escalateUntried(state, `run ${runId} no longer exists; nothing to repair`);
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
      { primitive: 'none', description: `run ${runId} has succeeded already`, now, subject: 'run' },
      {},
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
  return acted(state, { primitive: 'repair', description, now, repairId, subject: 'run' }, {}, deps);
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
