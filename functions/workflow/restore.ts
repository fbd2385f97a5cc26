/**
 * The `restore_config` task: once the cluster is healthy on a fallback (another node type, on-demand
 * capacity) and the playbook says `restore_original_config`, the original values of the fields the
 * fallback changed are put back with `clusters/update`. Databricks restarts a RUNNING cluster to
 * apply it, so the health check runs again. The fallback values it replaces are kept in the state:
 * a restore that does not come up healthy puts them back once, outside the attempt budget, and is not
 * tried twice.
 *
 * The restore is recorded (`config_restore_requested`, with the fallback and the restart baseline)
 * before the call: a retried task that finds the original values on the cluster already takes them
 * from there instead of reading the restored cluster as "the fallback".
 */
import * as z from 'zod';
import { DatabricksApiError } from '../databricks/errors.ts';
import type { WorkflowDeps } from './deps.ts';
import { isTransient, TaskInputError } from './errors.ts';
import type { OriginalConfig, RecoveryState } from './model.ts';
import { hasValues, originalOf } from './plan.ts';
import { readCluster } from './remediate.ts';
import { audit, callOptions, settleSeconds } from './support.ts';

const RESTORE_REQUESTED_EVENT = 'config_restore_requested';

const RestoreRequestSchema = z.looseObject({
  attempt: z.number(),
  fallback: z.looseObject({ fields: z.array(z.string()), values: z.record(z.string(), z.unknown()) }),
  baselineRestartedTime: z.number().optional(),
});
interface RestoreRequest {
  readonly attempt: number;
  /** The fallback configuration the restore replaces. */
  readonly fallback: OriginalConfig;
  readonly baselineRestartedTime?: number;
}

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
  // An earlier try of this task restored it already (and failed afterwards): finish its work.
  const earlier = hasValues(cluster, original) ? await restoreRequested(state, deps) : undefined;
  const request: RestoreRequest = earlier ?? {
    attempt: state.attempt,
    fallback: originalOf(cluster, original.fields),
    ...(cluster.last_restarted_time === undefined
      ? {}
      : { baselineRestartedTime: cluster.last_restarted_time }),
  };
  if (earlier === undefined) {
    await audit(deps, state, RESTORE_REQUESTED_EVENT, { ...request });
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
  }
  const description = `restored ${original.fields.map((field) => `${field}=${JSON.stringify(original.values[field] ?? null)}`).join(', ')}`;
  await audit(deps, state, 'config_restore_started', { description, original: original.values });
  deps.logger.info('restoring the original configuration', { ticketId: input.ticketId, description });
  return {
    ...state,
    phase: 'restore',
    outcome: 'verify',
    restore: 'pending',
    fallback: request.fallback,
    actions: [...(state.actions ?? []), description],
    plan: {
      subject: 'cluster',
      primitive: 'restore',
      description,
      actedAt: now,
      healthDeadlineAt: now + input.playbook.health_check_timeout * 1000,
      ...(request.baselineRestartedTime === undefined
        ? {}
        : { baselineRestartedTime: request.baselineRestartedTime }),
      changes: original.values,
    },
    wait: { seconds: cluster.state === 'RUNNING' ? settleSeconds(state, 'restore', now) : 1 },
  };
}

/** The restore an earlier try of this task recorded for this attempt, if any. */
async function restoreRequested(
  state: RecoveryState,
  deps: WorkflowDeps,
): Promise<RestoreRequest | undefined> {
  const found = await deps.tickets.getTicket(state.input.ticketId);
  return (found?.audit ?? [])
    .filter((entry) => entry.event === RESTORE_REQUESTED_EVENT)
    .flatMap((entry) => {
      const request = RestoreRequestSchema.safeParse(entry.details);
      return request.success && request.data.attempt === state.attempt ? [request.data] : [];
    })
    .at(-1);
}
