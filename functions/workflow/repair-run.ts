/**
 * The run repair of the Remediate task: a job cluster's failed run (`repair_run`), or a failed run on
 * an all-purpose cluster once that cluster is healthy again (`runRepair: 'due'`). The run is read
 * afresh: one still running is waited for, one that succeeded meanwhile needs nothing, and a
 * configuration-class failure is never repaired blindly. A repair reruns all failed tasks, naming the
 * run's latest repair as Databricks requires.
 */
import { classifyJobFailure, isConfigurationClass } from '../core/classifier/classify.ts';
import { analyzeJobRun } from '../core/job-run.ts';
import type { Run } from '../core/schemas/databricks.ts';
import { isInvalidState } from '../databricks/errors.ts';
import type { WorkflowDatabricks, WorkflowDeps } from './deps.ts';
import type { RecoveryState } from './model.ts';
import { delay, remediationStarted, shadow } from './outcomes.ts';
import { readParentRun } from './reads.ts';
import { latestRepairId, runLifeCycle, runSucceeded, TERMINAL_RUN_STATES } from './runs.ts';
import { audit, callOptions, clampWait, escalateUntried, escalateWith, remainingSeconds } from './support.ts';

export async function remediateRun(
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
  const backingOff = await backOffFirst(state, namedRunId, now, deps);
  if (backingOff !== undefined) return backingOff;
  const found = await readParentRun(client, namedRunId, deps);
  if (found === undefined)
    return escalateUntried(state, `run ${namedRunId} no longer exists; nothing to repair`);
  const { run, runId } = found;
  const configuration = configurationFailure(state, run, runId);
  if (configuration !== undefined) return configuration;
  const shadowMode = input.playbook.mode === 'shadow';
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
    return remediationStarted(
      state,
      { primitive: 'none', description: `run ${runId} has succeeded already`, now, subject: 'run', runId },
      state.runRepair === 'due' ? { runRepair: 'done' } : {},
      deps,
    );
  }
  return repair(state, run, runId, client, now, deps);
}

/**
 * Job failures back off before the first repair: the cause is often still there a second later. A
 * run waiting for its all-purpose cluster's recovery does not: the cluster is healthy now.
 */
async function backOffFirst(
  state: RecoveryState,
  runId: string,
  now: number,
  deps: WorkflowDeps,
): Promise<RecoveryState | undefined> {
  const { playbook } = state.input;
  if (playbook.mode === 'shadow' || state.attempt !== 1 || state.backedOff === true) return undefined;
  if (state.runRepair === 'due') return undefined;
  const seconds = playbook.backoff.initial_seconds;
  if (seconds >= remainingSeconds(state, now)) return undefined;
  await audit(deps, state, 'backoff_scheduled', { attempt: state.attempt, seconds, runId });
  return { ...state, outcome: 'delay', backedOff: true, wait: { seconds: clampWait(seconds, state, now) } };
}

/**
 * A job failure's signal carries no cluster context: the run as it is now must not be a
 * configuration-class failure either (INVALID_CLUSTER_REQUEST, a library…).
 */
function configurationFailure(state: RecoveryState, run: Run, runId: string): RecoveryState | undefined {
  const { input } = state;
  if (input.signal.kind !== 'job_failure') return undefined;
  const fresh = classifyJobFailure(analyzeJobRun({ jobId: input.jobId ?? '', runId }, run, []).job);
  if (fresh.errorType === undefined || !isConfigurationClass(fresh.errorType)) return undefined;
  return escalateWith(
    state,
    `run ${runId} failed with a configuration-class failure (${fresh.code ?? fresh.errorType}: ${fresh.reason}); it is not repaired blindly`,
    runEvidence(state, run),
  );
}

/** Repairs the finished, failed run: reruns all its failed tasks. */
async function repair(
  state: RecoveryState,
  run: Run,
  runId: string,
  client: WorkflowDatabricks,
  now: number,
  deps: WorkflowDeps,
): Promise<RecoveryState> {
  const latest = latestRepairId(run);
  const description = `repaired run ${runId} (rerun_all_failed_tasks${latest === undefined ? '' : `, latest_repair_id ${latest}`})`;
  if (state.input.playbook.mode === 'shadow') return shadow(state, description, deps);
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
      state.input.playbook.health_check_interval_seconds,
      `run ${runId} cannot be repaired yet (${error.apiMessage})`,
      now,
      deps,
    );
  }
  return remediationStarted(
    state,
    { primitive: 'repair', description, now, repairId, subject: 'run', runId },
    state.runRepair === 'due' ? { runRepair: 'done' } : {},
    deps,
  );
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
