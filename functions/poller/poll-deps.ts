/**
 * What polling a workspace needs from outside: the Databricks reads, the cursor store, the incident path,
 * the permits, the time budget, the metrics.
 */
import type { IncidentDeps } from '../core/incident.ts';
import type { ClusterEventsResponse, ListClustersResponse } from '../core/schemas/databricks.ts';
import type { ClusterEventsRequest, ListClustersQuery } from '../databricks/client.ts';
import type { CallOptions } from '../databricks/transport.ts';
import type { AdvanceResult, PollCursor, PollMemory } from '../store/cursors.ts';
import type { PollerOptions } from './config.ts';
import type { Semaphore } from './limit.ts';

/** The two Databricks calls the poller makes; `DatabricksClient` satisfies it. */
export interface ClusterReader {
  listClusters(query: ListClustersQuery, options?: CallOptions): Promise<ListClustersResponse>;
  listClusterEvents(request: ClusterEventsRequest, options?: CallOptions): Promise<ClusterEventsResponse>;
}

export interface CursorStore {
  get(workspaceId: string): Promise<PollCursor | undefined>;
  /** Moves the cursor forward (never back) and stores `memory` whether it moved or not. */
  advance(
    workspaceId: string,
    polledUntil: number,
    details?: Readonly<Record<string, unknown>>,
    memory?: PollMemory,
  ): Promise<AdvanceResult>;
  /** Stores `memory` without moving the cursor (nothing when the workspace has no cursor yet). */
  remember(workspaceId: string, memory: PollMemory): Promise<boolean>;
}

/** Counters the poller emits (Powertools Metrics in the Lambda). */
export interface PollerMetrics {
  count(name: string, value?: number): void;
  milliseconds(name: string, value: number): void;
}

/** Time left for a phase of the run. */
export interface Budget {
  /** Whether a new step may still start. */
  hasTime(): boolean;
  /** Absolute deadline (epoch ms, real clock) to pass to a Databricks call. */
  deadline(): number;
}

export interface WorkspacePollDeps {
  readonly reader: ClusterReader;
  readonly cursors: CursorStore;
  readonly incident: IncidentDeps;
  /** The run's permits for Databricks calls, shared by every workspace. */
  readonly semaphore: Semaphore;
  readonly options: PollerOptions;
  /** Observation time (epoch ms): compared with Databricks timestamps and stored in the cursor. */
  readonly clock: () => number;
  readonly budget: Budget;
  readonly metrics: PollerMetrics;
}
