import type { CapGate, WorkflowStarter } from '../core/incident.ts';
import type { OutageGate } from '../core/outage-path.ts';
import type { PlaybookTable } from '../core/playbooks.ts';
import type { WorkspaceClients } from '../databricks/index.ts';
import { DEFAULT_POLLER_OPTIONS, type PollerOptions } from '../poller/config.ts';
import type { BreakerRepository } from '../store/breakers.ts';
import type { DocumentClient } from '../store/dynamo.ts';
import { OperationsLog } from '../store/operations-log.ts';
import type { SilenceRepository } from '../store/silences.ts';
import { TicketQueries } from '../store/ticket-queries.ts';
import type { TicketRepository } from '../store/tickets.ts';
import type { OpsDeps } from './service.ts';

export interface OperationsStores {
  readonly documentClient: DocumentClient;
  readonly tableName: string;
  readonly tickets: TicketRepository;
  readonly breakers: BreakerRepository;
  readonly silences: SilenceRepository;
  readonly databricks: WorkspaceClients;
  readonly playbooks: PlaybookTable;
  /** The blast-radius cap an approved or retried recovery starts through. @default not capped */
  readonly cap?: CapGate;
  /** Outage correlation: `rca outage list|resolve`. @default not served */
  readonly outages?: OutageGate;
  /** EMF counts (ApprovalsGranted, ApprovalsDenied, what a start or an outage release counts). @default none */
  readonly metrics?: { count(name: string, value?: number): void };
  readonly logger: {
    info(message: string, ...extra: Record<string, unknown>[]): void;
    warn(message: string, ...extra: Record<string, unknown>[]): void;
    error(message: string, ...extra: Record<string, unknown>[]): void;
  };
}

/** The operations API's dependencies from the stores, for the Lambda entry and the local host alike. */
export function operationsDeps(
  stores: OperationsStores,
  workflow: WorkflowStarter,
  autoRemediationEnabled: boolean,
  pollerOptions: Pick<PollerOptions, 'startPendingMaxAgeMs'> = DEFAULT_POLLER_OPTIONS,
): OpsDeps {
  const { documentClient: client, tableName } = stores;
  return {
    tickets: stores.tickets,
    queries: new TicketQueries({ client, tableName }),
    breakers: stores.breakers,
    silences: stores.silences,
    log: new OperationsLog({ client, tableName }),
    start: {
      tickets: stores.tickets,
      breakers: stores.breakers,
      workflow,
      playbooks: stores.playbooks,
      autoRemediationEnabled,
      logger: stores.logger,
      metrics: {
        count: (name, value) => stores.metrics?.count(name, value),
        milliseconds: () => undefined,
      },
      actor: 'operator',
      clock: Date.now,
      options: pollerOptions,
      ...(stores.cap === undefined ? {} : { cap: stores.cap }),
      ...(stores.outages === undefined ? {} : { outages: stores.outages }),
    },
    playbooks: stores.playbooks,
    autoRemediationEnabled,
    workspaceIds: stores.databricks.ids(),
    databricks: (id) => stores.databricks.get(id),
    clock: Date.now,
  };
}
