import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryNotifier } from '../../functions/shared/notify.ts';
import { NotificationLedger } from '../../functions/store/notifications.ts';
import type { WorkflowDeps } from '../../functions/workflow/deps.ts';
import { close } from '../../functions/workflow/finish.ts';
import { createWorkflowHarness, type WorkflowHarness } from './harness.ts';

describe('notifications once', () => {
  let h: WorkflowHarness;
  beforeAll(async () => {
    h = await createWorkflowHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    { ledger: true, sent: 1 },
    { ledger: false, sent: 2 },
  ])(
    'a Close task run twice for one recovery notifies $sent time(s) (ledger: $ledger)',
    async ({ ledger, sent }) => {
      // Prepare: a recovery the workflow closed and notified; then Step Functions runs Close again
      const recovery = await h.recoverCluster(ledger ? '0101-000022-notify01' : '0101-000002-shutdwn1');
      const notifier = new MemoryNotifier();
      const notifications = new NotificationLedger({
        client: h.table.documentClient,
        tableName: h.table.tableName,
      });
      const deps: WorkflowDeps = {
        tickets: h.tickets,
        breakers: h.breakers,
        restores: h.restores,
        databricks: () => ({ host: h.simulator.url }) as unknown as ReturnType<WorkflowDeps['databricks']>,
        notifier,
        ...(ledger ? { notifications } : {}),
        clock: Date.now,
        logger: new Logger({ logLevel: 'SILENT' }),
      };
      const state = { input: recovery.execution.input, attempt: 1 } as Parameters<typeof close>[0];

      // Act
      await close(state, deps);
      await close(state, deps);

      // Assess: the workflow's own Close notified (and recorded it); with the ledger neither rerun sends again
      expect(recovery.ticket.status).toBe('closed');
      expect((h.notifier as MemoryNotifier).for(recovery.ticket.ticketId)).toHaveLength(1);
      expect(notifier.for(recovery.ticket.ticketId)).toHaveLength(sent === 1 ? 0 : 2);
    },
  );

  it('claims a notification once per ticket and outcome, and gives it back after a failed send', async () => {
    // Prepare
    const ledger = new NotificationLedger({ client: h.table.documentClient, tableName: h.table.tableName });

    // Act
    const first = await ledger.claim('RCA-20990101-00000001', 'escalated#0');
    const second = await ledger.claim('RCA-20990101-00000001', 'escalated#0');
    const otherOutcome = await ledger.claim('RCA-20990101-00000001', 'recovered#0');
    await ledger.release('RCA-20990101-00000001', 'escalated#0');
    const afterRelease = await ledger.claim('RCA-20990101-00000001', 'escalated#0');

    // Assess
    expect([first, second, otherOutcome, afterRelease]).toEqual([true, false, true, true]);
  });
});
