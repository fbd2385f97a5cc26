import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIncident } from '../../functions/core/incident.ts';
import { DEFAULT_PLAYBOOKS } from '../../functions/core/playbooks.ts';
import type { SeedClusterEvent } from '../../functions/core/schemas/inbound.ts';
import { signalFromClusterEvent } from '../../functions/core/signal-builders.ts';
import type { OpsDeps } from '../../functions/ops/deps.ts';
import { type RetryBatch, retryDisabled } from '../../functions/ops/tickets.ts';
import { DEFAULT_POLLER_OPTIONS } from '../../functions/poller/config.ts';
import { operationsDeps, type RegistryWorkspaces } from '../../functions/shared/wiring.ts';
import { BreakerRepository } from '../../functions/store/breakers.ts';
import { TicketRepository } from '../../functions/store/tickets.ts';
import { RecordingWorkflowStarter } from '../../lib/local/recording-workflow.ts';
import { createTestTable, type TestTable } from '../support/dynamodb.ts';

const HELD = 23;
const seedEvent = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/seed/test2-insufficient-capacity.json'), 'utf8'),
) as SeedClusterEvent;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('retryDisabled: bounded calls that resume where the last one stopped', () => {
  let table: TestTable;
  let tickets: TicketRepository;
  let workflow: RecordingWorkflowStarter;
  let deps: OpsDeps;
  const held: string[] = [];
  beforeAll(async () => {
    table = await createTestTable('retry-disabled');
    const stores = { client: table.documentClient, tableName: table.tableName };
    tickets = new TicketRepository(stores);
    const breakers = new BreakerRepository(stores);
    workflow = new RecordingWorkflowStarter();
    // The real incident path with AUTO_REMEDIATION_ENABLED=false holds each failure `disabled`.
    for (let i = 0; i < HELD + 2; i++) {
      const event = { ...seedEvent, cluster: { ...seedEvent.cluster, cluster_id: `held-${i}` } };
      const outcome = await openIncident(
        signalFromClusterEvent(event, { workspaceId: 'default', now: Date.now() }),
        {
          tickets,
          breakers,
          workflow,
          playbooks: DEFAULT_PLAYBOOKS,
          // Two more, with remediation on, start at once: a retry of the disabled ones leaves them alone.
          autoRemediationEnabled: i >= HELD,
          logger: quiet,
          actor: 'intake',
        },
      );
      if (i < HELD) held.push(outcome.ticket?.ticketId ?? '');
    }
    deps = operationsDeps(
      {
        table: stores,
        tickets,
        breakers,
        // Re-driving reads no cluster: the workflow's guard does, once started.
        workspaces: { databricks: { ids: () => ['default'] } } as unknown as RegistryWorkspaces,
      },
      {
        workflow,
        playbooks: DEFAULT_PLAYBOOKS,
        autoRemediationEnabled: true,
        options: DEFAULT_POLLER_OPTIONS,
        logger: quiet,
        secrets: { send: () => Promise.reject(new Error('no secret is read here')) },
        prefixes: { acting: 'databricks/' },
      },
    );
  }, 60_000);
  afterAll(async () => {
    await table?.destroy();
  });

  it('re-drives every disabled ticket exactly once over calls of one page each, following the cursor', async () => {
    // Prepare
    const startsBefore = workflow.starts.length;
    const batches: RetryBatch[] = [];
    let cursor: string | undefined;

    // Act: a budget of 0 ms makes every call stop after its first page of 5 open tickets
    do {
      const batch = await retryDisabled('operator', deps, cursor, {
        pageSize: 5,
        concurrency: 3,
        budgetMs: 0,
      });
      batches.push(batch);
      cursor = batch.cursor;
    } while (cursor !== undefined && batches.length < 50);
    const again = await retryDisabled('operator', deps);

    // Assess
    const outcomes = batches.flatMap((b) => b.retried);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil((HELD + 2) / 5));
    expect(batches.every((b) => b.retried.length <= 5)).toBe(true);
    expect(outcomes.map((o) => o.ticketId).sort()).toEqual([...held].sort());
    expect(outcomes.filter((o) => !o.retried)).toEqual([]);
    expect(
      workflow.starts
        .slice(startsBefore)
        .map((s) => s.name)
        .sort(),
    ).toEqual([...held].sort());
    const trails = await Promise.all(held.map((id) => tickets.getTicket(id)));
    expect(trails.map((t) => t?.audit.filter((e) => e.event === 'retry_requested').length)).toEqual(
      held.map(() => 1),
    );
    expect(again).toEqual({ retried: [] });
  });

  it("refuses a cursor it did not hand out, as the caller's mistake", async () => {
    // Act
    const attempt = retryDisabled('operator', deps, 'not-a-cursor');

    // Assess
    await expect(attempt).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringContaining('cursor'),
    });
  });
});
