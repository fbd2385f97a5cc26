import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterDetails, ClusterEvent } from '../../functions/core/schemas/databricks.ts';
import { DatabricksApiError, DatabricksInvalidStateError } from '../../functions/databricks/errors.ts';
import { DRIVER_HEAL_GRACE_MS, driverLossVerdict } from '../../functions/poller/detect.ts';
import { applyPendingRestores, decideRestore } from '../../functions/poller/restore.ts';
import type { PendingRestore } from '../../functions/store/restores.ts';
import { createPollerHarness, MINUTE, type PollerHarness, T0 } from './harness.ts';

const LOSS = Date.UTC(2026, 10, 30, 6, 0, 0);
const event = (type: string, timestamp: number): ClusterEvent => ({ cluster_id: 'c', type, timestamp });

describe('driverLossVerdict: a driver loss Databricks healed is not a failure', () => {
  it.each([
    [
      'DRIVER_HEALTHY after the loss',
      [event('DRIVER_NOT_RESPONDING', LOSS), event('DRIVER_HEALTHY', LOSS + 30_000)],
      LOSS + MINUTE,
      'healed',
    ],
    [
      'no answer yet, within the grace period',
      [event('DRIVER_NOT_RESPONDING', LOSS)],
      LOSS + DRIVER_HEAL_GRACE_MS - 1,
      'pending',
    ],
    [
      'no answer after the grace period',
      [event('DRIVER_NOT_RESPONDING', LOSS)],
      LOSS + DRIVER_HEAL_GRACE_MS,
      'unhealthy',
    ],
    [
      'a DRIVER_HEALTHY from before the loss',
      [event('DRIVER_HEALTHY', LOSS - 1)],
      LOSS + DRIVER_HEAL_GRACE_MS,
      'unhealthy',
    ],
    [
      'silent again after healing',
      [event('DRIVER_HEALTHY', LOSS + 10_000), event('DRIVER_NOT_RESPONDING', LOSS + 20_000)],
      LOSS + DRIVER_HEAL_GRACE_MS,
      'unhealthy',
    ],
  ])('%s → %s', (_name, events, now, expected) => {
    // Act
    const verdict = driverLossVerdict(events, LOSS, now);

    // Assess
    expect(verdict.kind).toBe(expected);
  });
});

describe('decideRestore: the original configuration goes back only on a TERMINATED cluster', () => {
  const restore: PendingRestore = {
    workspaceId: 'ws-a',
    clusterId: 'c',
    ticketId: 'RCA-20261130-001',
    original: { fields: ['node_type_id'], values: { node_type_id: 'r5d.4xlarge' } },
    fallback: { fields: ['node_type_id'], values: { node_type_id: 'r5.4xlarge' } },
  };
  const cluster = (state: string, node_type_id: string): ClusterDetails => ({
    cluster_id: 'c',
    state,
    node_type_id,
  });

  it.each([
    ['the cluster is gone', undefined, 'drop'],
    ['RUNNING on the fallback', cluster('RUNNING', 'r5.4xlarge'), 'wait'],
    ['RESTARTING', cluster('RESTARTING', 'r5.4xlarge'), 'wait'],
    ['TERMINATED on the fallback', cluster('TERMINATED', 'r5.4xlarge'), 'apply'],
    ['TERMINATED with the original already', cluster('TERMINATED', 'r5d.4xlarge'), 'done'],
    ['TERMINATED after someone edited it', cluster('TERMINATED', 'm5.4xlarge'), 'drop'],
  ])('%s → %s', (_name, given, expected) => {
    // Act
    const decision = decideRestore(restore, given);

    // Assess
    expect(decision.kind).toBe(expected);
  });
});

describe('applyPendingRestores: a refused restore', () => {
  const restore: PendingRestore = {
    workspaceId: 'ws-a',
    clusterId: 'c',
    ticketId: 'RCA-20261130-001',
    original: { fields: ['node_type_id'], values: { node_type_id: 'r5d.4xlarge' } },
    fallback: { fields: ['node_type_id'], values: { node_type_id: 'r5.4xlarge' } },
  };
  const refusal = (errorCode: string, message: string) =>
    new DatabricksApiError({ status: 400, errorCode, message, operation: 'clusters/update' });

  it.each([
    ['a policy refusal', refusal('INVALID_PARAMETER_VALUE', 'Validation failed for node_type_id'), 1, 0, 1],
    [
      'INVALID_STATE (started since the read)',
      new DatabricksInvalidStateError({
        status: 400,
        errorCode: 'INVALID_STATE',
        message: 'Cluster c is in unexpected state Pending.',
        operation: 'clusters/update',
      }),
      0,
      1,
      0,
    ],
  ])(
    'handles %s without holding back the next restore',
    async (_name, error, dropped, waiting, deletedFirst) => {
      // Prepare: two restores of the workspace; Databricks refuses the first update only.
      const second = { ...restore, clusterId: 'c2', ticketId: 'RCA-20261130-002' };
      const deleted: string[] = [];
      const audits: unknown[] = [];
      const updates: string[] = [];
      const deps = {
        workspaceId: 'ws-a',
        actor: 'poller',
        logger: { info: () => undefined },
        store: {
          list: async () => [restore, second],
          delete: async (r: { clusterId: string }) => {
            deleted.push(r.clusterId);
          },
        },
        client: {
          getCluster: async (clusterId: string) => ({
            cluster_id: clusterId,
            state: 'TERMINATED',
            node_type_id: 'r5.4xlarge',
          }),
          updateCluster: async (request: { cluster_id: string }) => {
            updates.push(request.cluster_id);
            if (request.cluster_id === 'c') throw error;
          },
        },
        tickets: {
          transition: async (_id: string, input: { audit?: unknown }) => {
            audits.push(input.audit);
            return {} as never;
          },
        },
      };

      // Act
      const result = await applyPendingRestores(
        deps as unknown as Parameters<typeof applyPendingRestores>[0],
      );

      // Assess
      expect(updates).toEqual(['c', 'c2']);
      expect(result).toEqual({ applied: 1, waiting, dropped });
      expect(deleted).toEqual(deletedFirst === 1 ? ['c', 'c2'] : ['c2']);
      if (dropped === 1)
        expect(audits[0]).toMatchObject({
          event: 'config_restore_dropped',
          details: {
            reason: expect.stringContaining('Databricks refused the restore (INVALID_PARAMETER_VALUE'),
          },
        });
    },
  );
});

describe('poller: driver losses that heal by themselves', () => {
  let h: PollerHarness | undefined;
  afterEach(async () => {
    await h?.close();
  });

  it('waits while a lost driver may still heal, and opens no ticket once Databricks healed it', async () => {
    // Prepare: this workspace's drivers come back a minute after a crash.
    h = await createPollerHarness({
      scenario: {
        timings: { driverRecoveryMs: MINUTE },
        // Up for an hour since its start, which is its last state loss.
        clusters: [
          {
            cluster_id: '0302-130000-healme01',
            state: 'RUNNING',
            start_time: T0 - 60 * MINUTE,
            last_state_loss_time: T0 - 60 * MINUTE,
          },
        ],
      },
    });
    await h.poll();
    h.advance(5 * MINUTE);
    h.sim().admin.crashDriver('0302-130000-healme01');
    h.advance(10_000);

    // Act: one run before the driver came back, one after.
    const before = await h.poll();
    // Past the grace period: without the DRIVER_HEALTHY it would now be a failure.
    h.advance(DRIVER_HEAL_GRACE_MS + MINUTE);
    const after = await h.poll();

    // Assess
    expect(before.report.workspaces[0]).toMatchObject({ status: 'complete', failuresDetected: 0 });
    expect(after.report.workspaces[0]).toMatchObject({ status: 'complete', failuresDetected: 0 });
    expect(after.report.workspaces[0]?.explainedStateLosses).toBe(1);
    expect(await h.allTickets()).toEqual([]);
  });
});
