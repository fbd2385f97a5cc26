/**
 * What the task handlers need, as the narrowest interfaces they use. The Lambda entry wires the real
 * repositories, Databricks clients and notifier; tests and the local runner wire the same classes
 * against DynamoDB Local and the simulator.
 */

import type {
  ClusterDetails,
  ClusterEventsResponse,
  ClusterPolicyResponse,
  RepairRunResponse,
  Run,
} from '../core/schemas/databricks.ts';
import type {
  ClusterEventsRequest,
  GetRunQuery,
  RepairRunRequest,
  UpdateClusterRequest,
} from '../databricks/client.ts';
import type { CallOptions } from '../databricks/transport.ts';
import type { Notifier } from '../shared/notify.ts';
import type { BreakerRepository } from '../store/breakers.ts';
import type { NotificationLedger } from '../store/notifications.ts';
import type { RestoreRepository } from '../store/restores.ts';
import type { TicketRepository } from '../store/tickets.ts';

/** The Databricks calls the workflow makes; `DatabricksClient` satisfies it. */
export interface WorkflowDatabricks {
  /** Workspace URL, for links to the cluster page. */
  readonly host: string;
  getCluster(clusterId: string, options?: CallOptions): Promise<ClusterDetails>;
  startCluster(clusterId: string, options?: CallOptions): Promise<void>;
  restartCluster(clusterId: string, options?: CallOptions): Promise<void>;
  /** Every configuration change; never `clusters/edit`, which replaces the whole spec (api-facts §3). */
  updateCluster(request: UpdateClusterRequest, options?: CallOptions): Promise<void>;
  listClusterEvents(request: ClusterEventsRequest, options?: CallOptions): Promise<ClusterEventsResponse>;
  /** Read before a fallback, so that one the cluster's policy forbids is never sent. */
  getClusterPolicy(policyId: string, options?: CallOptions): Promise<ClusterPolicyResponse>;
  getRun(runId: string | number, query?: GetRunQuery, options?: CallOptions): Promise<Run>;
  repairRun(request: RepairRunRequest, options?: CallOptions): Promise<RepairRunResponse>;
}

export interface WorkflowLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** A slot of the blast-radius cap that Close or Escalate gave back. */
export interface FreedSlot {
  readonly workspaceId: string;
  /**
   * The state machine the finishing execution runs on (`$$.StateMachine.Id`, sent by the Close and
   * Escalate Task states): the queued recoveries start there. Absent from an execution of an older
   * definition.
   */
  readonly stateMachineArn?: string;
  /** Absolute deadline (epoch ms, system clock) after which no further queued ticket is started. */
  readonly deadline?: number;
}

export interface WorkflowDeps {
  readonly tickets: Pick<TicketRepository, 'getTicket' | 'transition' | 'appendAudit'>;
  readonly breakers: Pick<BreakerRepository, 'recordSuccess' | 'recordFailure' | 'release'>;
  /** Restores of an original configuration that wait for the cluster's next natural termination. */
  readonly restores: Pick<RestoreRepository, 'put'>;
  /** The client of a workspace; throws for a workspace that is not configured. */
  readonly databricks: (workspaceId: string) => WorkflowDatabricks;
  readonly notifier: Notifier;
  /** Records each sent notification, so a retried Close or Escalate sends it once. @default none: always sent */
  readonly notifications?: Pick<NotificationLedger, 'claim' | 'release'>;
  /**
   * The workflow's clock (epoch ms) for deadlines and health-check windows. The local runner passes
   * a clock that runs as much faster as its Wait states are shortened.
   */
  readonly clock: () => number;
  readonly logger: WorkflowLogger;
  readonly metrics?: { count(name: string, value?: number): void };
  /** Absolute deadline (epoch ms, system clock) for the Databricks calls of this invocation. */
  readonly deadline?: () => number;
  /** Who writes the audit entries. @default 'workflow' */
  readonly actor?: string;
  /** The blast-radius cap: Close and Escalate give the recovery's slot back. @default none: not capped */
  readonly cap?: { release(workspaceId: string, ticketId: string): Promise<boolean> };
  /**
   * Called after a slot was given back, to start the workspace's next queued ticket at once (the
   * poller's reconciler drains the queue too). Failures are logged and counted, never the recovery's.
   */
  readonly onSlotFreed?: (freed: FreedSlot) => Promise<void>;
  /**
   * Outage correlation: the end of an outage's probe settles the outage (releases or escalates its
   * held children); its members leave their recovered notification to the outage. @default none
   */
  readonly outages?: { settleProbe(outageId: string): Promise<void> };
}
