import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IncidentDeps, openIncident } from '../../functions/core/incident.ts';
import { DEFAULT_PLAYBOOKS } from '../../functions/core/playbooks.ts';
import { signalFromClusterEvent } from '../../functions/core/signal-builders.ts';
import { BreakerRepository } from '../../functions/store/breakers.ts';
import { TicketRepository } from '../../functions/store/tickets.ts';
import { RecordingWorkflowStarter } from '../../lib/local/recording-workflow.ts';
import { createTestTable, type TestTable } from '../support/dynamodb.ts';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('incident path: a fault half-way leaves a ticket the reconciler can finish', () => {
  let table: TestTable;
  let tickets: TicketRepository;
  let deps: IncidentDeps;
  beforeAll(async () => {
    table = await createTestTable('incident');
    tickets = new TicketRepository({ client: table.documentClient, tableName: table.tableName });
    const failingTransitions = {
      openTicket: tickets.openTicket.bind(tickets),
      openTicketUnlessSilenced: tickets.openTicketUnlessSilenced.bind(tickets),
      recordOccurrence: tickets.recordOccurrence.bind(tickets),
      transition: async () => {
        throw new Error('DynamoDB is unavailable (simulated)');
      },
    };
    deps = {
      tickets: failingTransitions,
      breakers: new BreakerRepository({ client: table.documentClient, tableName: table.tableName }),
      workflow: new RecordingWorkflowStarter(),
      playbooks: DEFAULT_PLAYBOOKS,
      autoRemediationEnabled: true,
      logger: quiet,
      actor: 'intake',
    };
  });
  afterAll(async () => {
    await table.destroy();
  });

  it.each([
    ['an escalation', 'INIT_SCRIPT_FAILURE', 'CLIENT_ERROR'],
    ['a started recovery', 'DRIVER_UNREACHABLE', 'SERVICE_FAULT'],
  ])('keeps the ticket start_pending when %s cannot be written', async (_name, code, type) => {
    // Prepare
    const signal = signalFromClusterEvent(
      {
        event: 'cluster.terminated',
        cluster: { cluster_id: `c-${code}`, termination_reason: { code, type } },
      },
      { workspaceId: 'default', now: Date.now() },
    );

    // Act
    const outcome = await openIncident(signal, deps).catch((error: Error) => error);

    // Assess
    const pending = await tickets.listStartPending();
    const ticket = pending.tickets.find((t) => t.clusterId === `c-${code}`);
    expect(ticket).toMatchObject({ status: 'open', recoveryStatus: 'start_pending' });
    // An escalation that failed surfaces as an error (the caller retries); a started recovery is reported.
    expect(outcome instanceof Error || (outcome as { status: string }).status === 'success').toBe(true);
  });
});
