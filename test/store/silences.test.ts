import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SilenceTarget, silenceScopeOf, silenceScopesFor } from '../../functions/core/silence.ts';
import type { OpenTicketInput } from '../../functions/core/ticket.ts';
import { SilenceRepository, silenceMarkerKey } from '../../functions/store/silences.ts';
import { TicketRepository } from '../../functions/store/tickets.ts';
import { createTestTable, type TestTable } from '../support/dynamodb.ts';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const HOUR = 3_600_000;
let table: TestTable;
let now = T0;
let silences: SilenceRepository;
let tickets: TicketRepository;
let incidents = 0;

/** A failure of `clusterId` in workspace `ws1`, as the intake opens it. */
function failure(clusterId: string): OpenTicketInput {
  incidents += 1;
  return {
    incidentKey: `ws1#cluster#${clusterId}#terminated#${T0 + incidents}`,
    workspaceId: 'ws1',
    clusterId,
    source: 'poller',
    errorType: 'DatabricksDriverNotResponding',
    category: 'driver',
    action: 'restart_cluster',
    reason: 'DRIVER_UNREACHABLE',
    recoveryStatus: 'start_pending',
  };
}

const scopesOf = (clusterId: string) =>
  silenceScopesFor({ workspaceId: 'ws1', clusterId, errorType: 'DatabricksDriverNotResponding' });

async function addSilence(target: SilenceTarget, untilOffset: number) {
  return silences.add({
    ...target,
    until: T0 + untilOffset,
    reason: `until +${untilOffset}`,
    createdBy: 'test',
  });
}

async function markerItem(target: SilenceTarget): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.documentClient.send(
    new GetCommand({ TableName: table.tableName, Key: silenceMarkerKey(silenceScopeOf(target)) }),
  );
  return Item;
}

beforeAll(async () => {
  table = await createTestTable('silences');
  silences = new SilenceRepository({
    client: table.documentClient,
    tableName: table.tableName,
    clock: () => now,
  });
  tickets = new TicketRepository({
    client: table.documentClient,
    tableName: table.tableName,
    clock: () => now,
  });
});

afterAll(async () => {
  await table?.destroy();
});

describe('silence markers', () => {
  it('raises the marker to the latest until of the scope, whatever order the silences are added in', async () => {
    // Prepare
    now = T0;
    const target = { clusterId: 'raise-1' };

    // Act
    await addSilence(target, HOUR);
    const latest = await addSilence(target, 2 * HOUR);
    await addSilence(target, HOUR / 2);
    const marker = await silences.marker(silenceScopeOf(target));

    // Assess
    expect(marker).toMatchObject({
      until: new Date(T0 + 2 * HOUR).toISOString(),
      silenceId: latest.silenceId,
      reason: latest.reason,
    });
    expect((await markerItem(target))?.expires_at).toBe(Math.floor((T0 + 2 * HOUR) / 1000) + 7 * 86_400);
  });

  it('lowers the marker to the next silence when the latest is removed, and deletes it with the last', async () => {
    // Prepare
    now = T0;
    const target = { workspaceId: 'ws-lower' };
    const next = await addSilence(target, HOUR);
    const latest = await addSilence(target, 2 * HOUR);

    // Act
    await silences.remove(latest.silenceId, 'test');
    const lowered = await silences.marker(silenceScopeOf(target));
    await silences.remove(next.silenceId, 'test');
    const gone = await markerItem(target);

    // Assess
    expect(lowered).toMatchObject({ until: new Date(T0 + HOUR).toISOString(), silenceId: next.silenceId });
    expect(gone).toBeUndefined();
  });

  it('keeps the marker when a silence that ends earlier is removed', async () => {
    // Prepare
    now = T0;
    const target = { errorType: 'KeepWhenEarlierRemoved' };
    const earlier = await addSilence(target, HOUR);
    const latest = await addSilence(target, 2 * HOUR);

    // Act
    await silences.remove(earlier.silenceId, 'test');

    // Assess
    expect(await silences.marker(silenceScopeOf(target))).toMatchObject({ silenceId: latest.silenceId });
  });

  it.each([
    ['during the silence', HOUR / 2, 'silenced'],
    ['one millisecond before it ends', HOUR - 1, 'silenced'],
    ['when it ends (expiry needs no write)', HOUR, 'created'],
    ['after it ended', 2 * HOUR, 'created'],
  ])('checks the marker in the ticket write %s', async (_when, at, outcome) => {
    // Prepare
    now = T0;
    const clusterId = `expiry-${at}`;
    await addSilence({ clusterId }, HOUR);
    now = T0 + at;

    // Act
    const opened = await tickets.openTicketUnlessSilenced(failure(clusterId), scopesOf(clusterId));

    // Assess
    expect(opened.outcome).toBe(outcome);
  });

  it.each<[string, (clusterId: string) => SilenceTarget, string]>([
    ['the cluster in any workspace', (clusterId) => ({ clusterId }), 'silenced'],
    ['the cluster in its workspace', (clusterId) => ({ clusterId, workspaceId: 'ws1' }), 'silenced'],
    ['the cluster in another workspace', (clusterId) => ({ clusterId, workspaceId: 'ws2' }), 'created'],
    ['another cluster', (clusterId) => ({ clusterId: `${clusterId}-other` }), 'created'],
  ])(
    'holds a failure by a silence of %s exactly as the silence decision does',
    async (_name, targetOf, outcome) => {
      // Prepare
      now = T0;
      const clusterId = `target-${incidents}`;
      await addSilence(targetOf(clusterId), HOUR);

      // Act
      const opened = await tickets.openTicketUnlessSilenced(failure(clusterId), scopesOf(clusterId));

      // Assess
      expect(opened.outcome).toBe(outcome);
    },
  );

  it('writes nothing when a silence holds the failure', async () => {
    // Prepare
    now = T0;
    const clusterId = 'nothing-written-1';
    await addSilence({ clusterId }, HOUR);
    const input = failure(clusterId);

    // Act
    const opened = await tickets.openTicketUnlessSilenced(input, scopesOf(clusterId));
    const retried = await tickets.openTicket(input);

    // Assess
    expect(opened).toEqual({ outcome: 'silenced', scope: silenceScopeOf({ clusterId }) });
    expect(retried.outcome).toBe('created');
  });
});
