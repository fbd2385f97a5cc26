/**
 * The `restore_config` task: once the cluster is healthy on a fallback (another node type, pool or
 * on-demand capacity) and the playbook says `restore_original_config`, the original values of the
 * fields the fallback changed go back — but never by restarting a running cluster (Databricks applies
 * an update of a RUNNING cluster by restarting it, killing new work and going back to the capacity
 * that just failed).
 *
 * | cluster, read afresh                   | what happens                                            |
 * |----------------------------------------|---------------------------------------------------------|
 * | TERMINATED, still on the fallback      | `clusters/update` now: applied at its next start        |
 * | anything else (RUNNING…)               | pending: the ticket closes `recovered_restore_pending`, |
 * |                                        | and the poller applies it at the next natural termination |
 * | gone                                   | nothing to restore                                      |
 */
import { DatabricksApiError } from '../databricks/errors.ts';
import { configText, hasValues, originalOf } from './cluster-config.ts';
import type { WorkflowDeps } from './deps.ts';
import { isTransient, TaskInputError } from './errors.ts';
import type { RecoveryState } from './model.ts';
import { readCluster } from './reads.ts';
import { audit, callOptions } from './support.ts';

export async function restoreConfig(state: RecoveryState, deps: WorkflowDeps): Promise<RecoveryState> {
  const { input, original } = state;
  if (original === undefined || input.clusterId === undefined) {
    throw new TaskInputError('restore_config needs the original configuration and a cluster');
  }
  const client = deps.databricks(input.workspaceId);
  const cluster = await readCluster(client, input.clusterId, deps);
  const done = (restore: RecoveryState['restore'], extra: Partial<RecoveryState> = {}): RecoveryState => ({
    ...state,
    ...extra,
    restore,
    outcome: 'healthy',
    wait: { seconds: 1 },
  });
  if (cluster === undefined) {
    await audit(deps, state, 'config_restore_skipped', {
      reason: `cluster ${input.clusterId} no longer exists`,
    });
    return done('skipped');
  }
  const fallback = originalOf(cluster, original.fields);
  if (cluster.state === 'TERMINATED') {
    if (hasValues(cluster, original)) return done('done');
    await audit(deps, state, 'config_restore_requested', {
      original: original.values,
      fallback: fallback.values,
    });
    try {
      await client.updateCluster(
        { cluster_id: input.clusterId, update_mask: original.fields, cluster: original.values },
        callOptions(deps),
      );
    } catch (error) {
      // A refusal (a policy, INVALID_STATE because it is starting again) leaves the fallback in place.
      if (!(error instanceof DatabricksApiError) || isTransient(error)) throw error;
      await audit(deps, state, 'config_restore_skipped', {
        reason: error.message,
        original: original.values,
      });
      return done('skipped');
    }
    const description = `restored ${configText(original)} while the cluster is TERMINATED (applied at its next start)`;
    await audit(deps, state, 'config_restored', { description, original: original.values });
    return done('done', { actions: [...(state.actions ?? []), description] });
  }
  await audit(deps, state, 'config_restore_pending', {
    original: original.values,
    fallback: fallback.values,
    reason: `the cluster is ${cluster.state ?? 'UNKNOWN'}: an update would restart it, so the original configuration is put back at its next natural termination`,
  });
  deps.logger.info('original configuration pending until the next termination', {
    ticketId: input.ticketId,
    clusterId: input.clusterId,
    original: original.values,
  });
  return done('pending', { pendingRestore: original, fallback });
}
