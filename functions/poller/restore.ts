/**
 * Pending restores, applied by the poller at the cluster's next natural termination: the workflow
 * recovered the cluster on a fallback and never restarts a running cluster to put the original
 * configuration back. An update of a TERMINATED cluster changes nothing until its next start.
 *
 * | cluster, read afresh (`clusters/get`)              | decision                                    |
 * |----------------------------------------------------|---------------------------------------------|
 * | gone                                               | drop: nothing to restore                    |
 * | not TERMINATED                                     | wait for the next poll                      |
 * | TERMINATED with the original values already        | done: someone put them back                 |
 * | TERMINATED, no longer on the fallback              | drop: it was edited since; that edit stays  |
 * | TERMINATED on the fallback                         | apply: `clusters/update` of the original fields |
 */
import type { ClusterDetails } from '../core/schemas/databricks.ts';
import {
  TicketNotFoundError,
  TicketStateError,
  type TransitionInput,
  type TransitionResult,
} from '../core/ticket.ts';
import type { UpdateClusterRequest } from '../databricks/client.ts';
import {
  DatabricksApiError,
  DatabricksThrottledError,
  isInvalidState,
  isNotFound,
} from '../databricks/errors.ts';
import type { CallOptions } from '../databricks/transport.ts';
import type { PendingRestore } from '../store/restores.ts';
import { hasValues } from '../workflow/cluster-config.ts';

export interface RestoreStore {
  list(workspaceId: string): Promise<PendingRestore[]>;
  delete(restore: Pick<PendingRestore, 'workspaceId' | 'clusterId' | 'ticketId'>): Promise<void>;
}

export interface RestoreClient {
  getCluster(clusterId: string, options?: CallOptions): Promise<ClusterDetails>;
  updateCluster(request: UpdateClusterRequest, options?: CallOptions): Promise<void>;
}

export interface RestoreTickets {
  transition(ticketId: string, input: TransitionInput): Promise<TransitionResult>;
}

export type RestoreDecision =
  | { readonly kind: 'apply' }
  | { readonly kind: 'wait' }
  | { readonly kind: 'done' | 'drop'; readonly reason: string };

export function decideRestore(restore: PendingRestore, cluster: ClusterDetails | undefined): RestoreDecision {
  if (cluster === undefined) return { kind: 'drop', reason: `cluster ${restore.clusterId} no longer exists` };
  if (cluster.state !== 'TERMINATED') return { kind: 'wait' };
  if (hasValues(cluster, restore.original)) {
    return { kind: 'done', reason: 'the cluster has its original configuration already' };
  }
  if (restore.fallback !== undefined && !hasValues(cluster, restore.fallback)) {
    return {
      kind: 'drop',
      reason: 'the cluster was edited since the recovery; that edit has the last word and is not overwritten',
    };
  }
  return { kind: 'apply' };
}

export interface RestoreRunDeps {
  readonly workspaceId: string;
  readonly store: RestoreStore;
  readonly client: RestoreClient;
  readonly tickets: RestoreTickets;
  readonly actor: string;
  readonly logger: { info(message: string, ...extra: Record<string, unknown>[]): void };
  readonly options?: () => CallOptions;
}

/** Applies the workspace's pending restores whose cluster is TERMINATED; one Query, one get per restore. */
export async function applyPendingRestores(
  deps: RestoreRunDeps,
): Promise<{ readonly applied: number; readonly waiting: number; readonly dropped: number }> {
  const pending = await deps.store.list(deps.workspaceId);
  let applied = 0;
  let waiting = 0;
  let dropped = 0;
  for (const restore of pending) {
    const options = deps.options?.() ?? {};
    let cluster: ClusterDetails | undefined;
    try {
      cluster = await deps.client.getCluster(restore.clusterId, options);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    let decision = decideRestore(restore, cluster);
    if (decision.kind === 'apply') {
      try {
        await deps.client.updateCluster(
          {
            cluster_id: restore.clusterId,
            update_mask: restore.original.fields,
            cluster: restore.original.values,
          },
          options,
        );
      } catch (error) {
        // Started since our read: try again at its next termination.
        if (isInvalidState(error)) decision = { kind: 'wait' };
        // Refused for good (a policy, a pool, a value no longer offered): the fallback stays, and one
        // refused restore must not hold back the workspace's other restores run after run.
        else if (isRefused(error))
          decision = {
            kind: 'drop',
            reason: `Databricks refused the restore (${error.errorCode}: ${error.apiMessage}); the fallback stays`,
          };
        else throw error;
      }
    }
    if (decision.kind === 'wait') {
      waiting++;
      continue;
    }
    if (decision.kind === 'apply') applied++;
    else dropped++;
    const event = decision.kind === 'apply' ? 'config_restored' : 'config_restore_dropped';
    const reason =
      decision.kind === 'apply'
        ? 'the cluster terminated; its original configuration was put back and applies at its next start'
        : decision.reason;
    try {
      await deps.tickets.transition(restore.ticketId, {
        from: ['closed'],
        to: 'closed',
        patch: { recoveryStatus: 'recovered' },
        audit: { event, actor: deps.actor, details: { original: restore.original.values, reason } },
      });
    } catch (error) {
      // A ticket someone reopened or removed keeps its own status; the restore itself is done.
      if (!(error instanceof TicketStateError) && !(error instanceof TicketNotFoundError)) throw error;
    }
    await deps.store.delete(restore);
    deps.logger.info(
      decision.kind === 'apply' ? 'original configuration restored' : 'pending restore dropped',
      {
        workspaceId: deps.workspaceId,
        clusterId: restore.clusterId,
        ticketId: restore.ticketId,
        reason,
      },
    );
  }
  return { applied, waiting, dropped };
}

/** A 400 that is about the change itself, not the cluster's state or a throttle. */
function isRefused(error: unknown): error is DatabricksApiError {
  return (
    error instanceof DatabricksApiError &&
    error.status === 400 &&
    !isInvalidState(error) &&
    !(error instanceof DatabricksThrottledError)
  );
}
