/**
 * The `remediate` task: on the first call it takes the ticket over (open or in_progress, both are
 * fine: the intake moves it to in_progress after starting the execution and may lose the race), then
 * it reads the cluster (or the job run), decides with `plan.ts`, and carries the decision out. In
 * shadow mode it records what it would have done and changes nothing.
 */

import type { ClusterDetails, ClusterEvent, Run } from '../core/schemas/databricks.ts';
import { isInvalidState, isNotFound } from '../databricks/errors.ts';
import { TicketStateError } from '../store/tickets.ts';
import type { WorkflowDatabricks, WorkflowDeps } from './deps.ts';
import type { Plan, Primitive, RecoveryInput, RecoveryState } from './model.ts';
import { type Decision, escalation, needsEditHistory, planClusterRemediation } from './plan.ts';
import {
  audit,
  callOptions,
  clampWait,
  escalateWith,
  remainingSeconds,
  settleSeconds,
  without,
} from './support.ts';

const RESOLVED = new Set(['closed', 'escalated', 'suppressed']);
const TERMINAL_RUN_STATES = new Set(['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR']);
const SUCCESSFUL_RESULTS = new Set(['SUCCESS', 'SUCCESS_WITH_FAILURES']);
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
    return escalateWith(state, `ticket ${input.ticketId} does not exist; nothing was changed`);
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
        patch: { recoveryStatus: input.playbook.mode === 'shadow' ? 'shadow' : 'in_progress' },
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
    return escalateWith(state, 'the incident names no cluster and no job run to act on');
  }
  const cluster = await readCluster(client, input.clusterId, deps);
  if (cluster === undefined) {
    return escalateWith(state, `cluster ${input.clusterId} no longer exists; nothing to recover`);
  }
  if (needsBackoff(state)) return backOff(state, now, deps);
  const editHistory = needsEditHistory(input, state, cluster)
    ? await recentEvents(client, cluster.cluster_id, ['EDITED', 'RUNNING'], deps)
    : undefined;
  const decision = planClusterRemediation({
    input,
    state,
    cluster,
    pollSeconds: input.playbook.health_check_interval_seconds,
    ...(editHistory === undefined ? {} : { editHistory }),
  });
  if (decision.kind === 'repair_run') return remediateRun(state, client, deps);
  return fromDecision(state, decision, cluster, client, deps);
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
        primitive = 'fallback_start';
        changes = decision.values;
        await client.updateCluster(
          { cluster_id: clusterId, update_mask: decision.fields, cluster: decision.values },
          options,
        );
        // An update of a RUNNING cluster restarts it; a TERMINATED one takes it at the next start.
        if (cluster.state === 'TERMINATED') await client.startCluster(clusterId, options);
        extra = { original: decision.original };
        break;
      case 'rollback':
        primitive = 'rollback_start';
        changes = decision.attributes;
        await client.editCluster(
          {
            ...decision.attributes,
            cluster_id: clusterId,
            spark_version: String(decision.attributes.spark_version),
          },
          options,
        );
        extra = { rolledBack: true };
        if (cluster.state === 'TERMINATED') await client.startCluster(clusterId, options);
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
      return delay(
        state,
        state.input.playbook.health_check_interval_seconds,
        `the cluster changed state (${error.state ?? 'unknown'}) before it could be acted on; deciding again`,
        now,
        deps,
      );
    }
  }
  return acted(
    state,
    { primitive, description, cluster, now, ...(changes === undefined ? {} : { changes }) },
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
  },
  extra: Partial<RecoveryState>,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  const { primitive, description, cluster, now } = action;
  const baseline = primitive === 'none' ? undefined : cluster?.last_restarted_time;
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
  if (run === undefined) return escalateWith(state, `run ${runId} no longer exists; nothing to repair`);
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
  if (SUCCESSFUL_RESULTS.has(run.state?.result_state ?? '')) {
    if (shadowMode) return shadow(state, `verified run ${runId}, which succeeded already`, deps);
    return acted(
      state,
      { primitive: 'none', description: `run ${runId} has succeeded already`, now },
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
