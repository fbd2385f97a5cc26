/**
 * What the operations API's business needs: the repositories, the reconciler's start path, the Databricks
 * reads, the clock.
 */

import type { PlaybookTable } from '../core/playbooks.ts';
import type { StartDeps } from '../poller/reconcile.ts';
import type { BreakerRepository } from '../store/breakers.ts';
import type { OperationsLog } from '../store/operations-log.ts';
import type { SilenceRepository } from '../store/silences.ts';
import type { TicketQueries } from '../store/ticket-queries.ts';
import type { TicketRepository } from '../store/tickets.ts';

/** The Databricks reads the doctor and the silence listing make. */
export interface ClusterReader {
  listClusters(query?: { page_size?: number }): Promise<unknown>;
  getCluster(clusterId: string): Promise<{ readonly state?: string }>;
}

export interface OpsDeps {
  readonly tickets: Pick<TicketRepository, 'getTicket' | 'listByStatus' | 'transition'>;
  readonly queries: Pick<TicketQueries, 'detectedSince' | 'claimHolder'>;
  readonly breakers: Pick<BreakerRepository, 'listByState' | 'forceOpen' | 'forceClose' | 'openedSince'>;
  readonly silences: Pick<SilenceRepository, 'add' | 'list' | 'remove'>;
  readonly log: Pick<OperationsLog, 'append'>;
  /** What starting a start_pending ticket needs: the reconciler's own path. */
  readonly start: StartDeps;
  readonly playbooks: PlaybookTable;
  readonly autoRemediationEnabled: boolean;
  readonly workspaceIds: readonly string[];
  readonly databricks: (workspaceId: string) => ClusterReader;
  readonly clock: () => number;
  /** What one `retry-disabled` call may do. @default RETRY_BATCH */
  readonly retryBatch?: RetryBatchLimits;
}

export interface RetryBatchLimits {
  /** Open tickets read per page; every disabled one of a page is retried before the call may stop. */
  readonly pageSize: number;
  /** Retries in flight at once. */
  readonly concurrency: number;
  /** No new page is started once this much time has passed in the call. */
  readonly budgetMs: number;
}

/** What one `retry-disabled` call may do: well inside API Gateway's and the Lambda's time limits. */
export const RETRY_BATCH: RetryBatchLimits = { pageSize: 25, concurrency: 5, budgetMs: 10_000 };
