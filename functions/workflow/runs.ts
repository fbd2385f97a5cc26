/** What a job run's state says (pure): finished, succeeded, its latest repair; and when a run is repaired after its cluster. */
import type { ClusterDetails, Run } from '../core/schemas/databricks.ts';
import type { RecoveryState } from './model.ts';

/** Terminal run states, in the deprecated `state.life_cycle_state` and in `status.state` alike. */
export const TERMINAL_RUN_STATES: ReadonlySet<string> = new Set(['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR']);
/** Successful ends: `state.result_state`, or `status.termination_details.code` (api-facts §4.1). */
const SUCCESSFUL_RESULTS = new Set(['SUCCESS', 'SUCCESS_WITH_FAILURES']);

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
