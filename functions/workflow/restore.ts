/**
 * The `restore_config` task: once the cluster is healthy on a fallback (another node type, on-demand
 * capacity) and the playbook says `restore_original_config`, the original values of the fields the
 * fallback changed are put back with `clusters/update`. Databricks restarts a RUNNING cluster to
 * apply it, so the health check runs again; a restore that does not come up healthy is not tried
 * twice (the next attempt keeps the fallback).
 */
import { DatabricksApiError } from '../databricks/errors.ts';
import type { WorkflowDeps } from './deps.ts';
import { isTransient, TaskInputError } from './errors.ts';
import type { RecoveryState } from './model.ts';
import { readCluster } from './remediate.ts';
import { audit, callOptions, settleSeconds } from './support.ts';

export async function restoreConfig(state: RecoveryState, deps: WorkflowDeps): Promise<RecoveryState> {
  const { input, original, plan } = state;
  if (original === undefined || plan === undefined || input.clusterId === undefined) {
    throw new TaskInputError('restore_config needs the original configuration, a plan and a cluster');
  }
  const now = deps.clock();
  const client = deps.databricks(input.workspaceId);
  const cluster = await readCluster(client, input.clusterId, deps);
  const skip = async (why: string): Promise<RecoveryState> => {
    await audit(deps, state, 'config_restore_skipped', { reason: why, original: original.values });
    deps.logger.warn('original configuration not restored', { ticketId: input.ticketId, reason: why });
    return { ...state, restore: 'skipped', outcome: 'verify', wait: { seconds: 1 } };
  };
  if (cluster === undefined) return skip(`cluster ${input.clusterId} no longer exists`);
  try {
    await client.updateCluster(
      { cluster_id: input.clusterId, update_mask: original.fields, cluster: original.values },
      callOptions(deps),
    );
  } catch (error) {
    // A refusal (INVALID_STATE, a policy that forbids the value…) leaves the working fallback in place;
    // throttling and 5xx are retried by the state machine.
    if (error instanceof DatabricksApiError && !isTransient(error)) return skip(error.message);
    throw error;
  }
  const description = `restored ${original.fields.map((field) => `${field}=${JSON.stringify(original.values[field] ?? null)}`).join(', ')}`;
  await audit(deps, state, 'config_restore_started', { description, original: original.values });
  deps.logger.info('restoring the original configuration', { ticketId: input.ticketId, description });
  return {
    ...state,
    phase: 'restore',
    outcome: 'verify',
    restore: 'pending',
    actions: [...(state.actions ?? []), description],
    plan: {
      subject: 'cluster',
      primitive: 'restore',
      description,
      actedAt: now,
      healthDeadlineAt: now + input.playbook.health_check_timeout * 1000,
      ...(cluster.last_restarted_time === undefined
        ? {}
        : { baselineRestartedTime: cluster.last_restarted_time }),
      changes: original.values,
    },
    wait: { seconds: cluster.state === 'RUNNING' ? settleSeconds(state, 'restore', now) : 1 },
  };
}
