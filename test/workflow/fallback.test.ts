import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { applyPendingRestores } from '../../functions/poller/restore.ts';
import type { MemoryNotifier } from '../../functions/shared/notify.ts';
import type { FaultsInput } from '../../lib/simulator/index.ts';
import { events, useWorkflowHarness, type WorkflowHarness } from './harness.ts';

/** One 500 on clusters/start, which the REST client does not retry: the Remediate task fails once. */
const START_FAILS_ONCE: FaultsInput = {
  serverErrors: { paths: ['/api/2.1/clusters/start'], count: 1, status: 500 },
};

/**
 * Someone sets an invalid runtime on a cluster, and its next start fails with INVALID_ARGUMENT:
 * the newest EDITED event is the bad edit, and the cluster has not run since.
 */
async function breakWithAnEdit(h: WorkflowHarness, clusterId: string): Promise<void> {
  // A user breaks it: the edit and the start are theirs, not the automation's.
  h.simulator.admin.userEdit(clusterId, {
    user: 'data.engineer@example.com',
    attributes: { spark_version: '9.9.x-scala2.12' },
  });
  h.simulator.admin.setFaults({
    failNextStarts: {
      count: 1,
      clusterIds: [clusterId],
      reason: {
        code: 'INVALID_ARGUMENT',
        type: 'CLIENT_ERROR',
        parameters: { databricks_error_message: 'Invalid spark version 9.9.x-scala2.12' },
      },
    },
  });
  h.simulator.admin.userStart(clusterId, { user: 'data.engineer@example.com' });
  while ((await h.cluster(clusterId)).state !== 'TERMINATED') await sleep(20);
  h.simulator.admin.resetStats();
}

describe('recovery workflow: clusters that need a different configuration', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((created) => {
    h = created;
  });

  it('starts a cluster without capacity on a fallback node type and restores the original node type at its next termination, never by restarting it', async () => {
    // Prepare
    const clusterId = '0101-000010-capacty1';
    h.simulator.admin.setFaults({ unavailableNodeTypes: [{ nodeTypeId: 'r5d.4xlarge' }] });
    const overrides = { DatabricksResourceExhausted: { fallback_node_types: ['r5.4xlarge', 'm5.4xlarge'] } };

    // Act
    const recovery = await h.recoverCluster(clusterId, 'termination', overrides);

    // Assess: healthy on the fallback, the original configuration pending (no update of a RUNNING cluster).
    expect(recovery.outcome.classification.action).toBe('restart_with_different_instance_type');
    expect(recovery.ticket).toMatchObject({
      status: 'closed',
      recoveryStatus: 'recovered_restore_pending',
      attempts: 1,
    });
    expect(recovery.audit.find((entry) => entry.event === 'remediation_started')?.details).toMatchObject({
      primitive: 'fallback_start',
      changes: { node_type_id: 'r5.4xlarge', driver_node_type_id: 'r5.4xlarge' },
    });
    expect(events(recovery)).toContain('config_restore_pending');
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/update': 1, 'POST /api/2.1/clusters/start': 1 });
    expect(await h.cluster(clusterId)).toMatchObject({ state: 'RUNNING', node_type_id: 'r5.4xlarge' });
    expect(recovery.execution.states).toContain('RestoreConfig');
    expect(await h.restores.list('default')).toEqual([
      expect.objectContaining({
        clusterId,
        ticketId: recovery.ticket.ticketId,
        original: {
          fields: ['node_type_id', 'driver_node_type_id'],
          values: { node_type_id: 'r5d.4xlarge', driver_node_type_id: 'r5d.4xlarge' },
        },
      }),
    ]);
    const [message] = (h.notifier as MemoryNotifier).for(recovery.ticket.ticketId);
    expect(message?.summary).toMatch(
      /^Switched node type r5d\.4xlarge → r5\.4xlarge .*is put back at the cluster's next termination, never by restarting it$/,
    );

    // Act: its owner stops it later (a natural termination), and the poller's next run applies the restore.
    h.simulator.admin.failCluster(clusterId, { code: 'USER_REQUEST', type: 'SUCCESS' });
    while ((await h.cluster(clusterId)).state !== 'TERMINATED') await sleep(20);
    h.simulator.admin.resetStats();
    const applied = await applyPendingRestores({
      workspaceId: 'default',
      store: h.restores,
      client: h.direct,
      tickets: h.tickets,
      actor: 'poller',
      logger: { info: () => undefined },
    });

    // Assess: the original values are back on the TERMINATED cluster, which stays stopped.
    expect(applied).toEqual({ applied: 1, waiting: 0, dropped: 0 });
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/update': 1 });
    expect(await h.cluster(clusterId)).toMatchObject({
      state: 'TERMINATED',
      node_type_id: 'r5d.4xlarge',
      driver_node_type_id: 'r5d.4xlarge',
    });
    expect(await h.restores.list('default')).toEqual([]);
    const after = await h.tickets.getTicket(recovery.ticket.ticketId);
    expect(after?.ticket.recoveryStatus).toBe('recovered');
    expect(after?.audit.map((entry) => entry.event)).toContain('config_restored');
  });

  it('starts a cluster that lost its spot instances on on-demand capacity and keeps it when told not to restore', async () => {
    // Prepare
    const clusterId = '0101-000011-spotlst1';
    const overrides = { DatabricksSpotInstanceLost: { restore_original_config: false } };

    // Act
    const recovery = await h.recoverCluster(clusterId, 'termination', overrides);

    // Assess
    expect(recovery.outcome.classification.action).toBe('restart_with_on_demand');
    expect(recovery.ticket).toMatchObject({ status: 'closed', attempts: 1 });
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/update': 1, 'POST /api/2.1/clusters/start': 1 });
    const cluster = await h.cluster(clusterId);
    expect(cluster.aws_attributes).toEqual({
      availability: 'ON_DEMAND',
      zone_id: 'us-east-1a',
      first_on_demand: 1,
      spot_bid_price_percent: 100,
    });
    expect(recovery.execution.states).not.toContain('RestoreConfig');
  });

  it('rolls back the edit that broke a cluster (INVALID_ARGUMENT right after an EDITED event) and starts it', async () => {
    // Prepare
    const clusterId = '0101-000012-badedit1';
    await breakWithAnEdit(h, clusterId);

    // Act
    const recovery = await h.recoverCluster(clusterId);

    // Assess
    expect(recovery.outcome.classification).toMatchObject({
      errorType: 'DatabricksConfigurationError',
      action: 'rollback_config',
    });
    expect(recovery.ticket).toMatchObject({ status: 'closed', attempts: 1 });
    // clusters/update of exactly the fields the edit changed: clusters/edit would replace the whole
    // spec with previous_attributes, which carry no size.
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/update': 1, 'POST /api/2.1/clusters/start': 1 });
    expect(await h.cluster(clusterId)).toMatchObject({
      state: 'RUNNING',
      spark_version: '15.4.x-scala2.12',
      node_type_id: 'i3.xlarge',
      num_workers: 2,
      autotermination_minutes: 10000,
    });
    expect(recovery.audit.find((entry) => entry.event === 'remediation_started')?.details).toMatchObject({
      primitive: 'rollback_start',
      description: expect.stringMatching(
        /^rolled back the edit of .* \(spark_version\) and started the cluster$/,
      ),
    });
  });

  it('does not undo its own rollback when the start after it fails and the step is retried', async () => {
    // Prepare
    const clusterId = '0101-000027-badedit2';
    await breakWithAnEdit(h, clusterId);
    h.simulator.admin.setFaults(START_FAILS_ONCE);

    // Act
    const recovery = await h.recoverCluster(clusterId);

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', attempts: 1 });
    expect(recovery.execution.retries.Remediate).toBe(1);
    // The retry finds its own rollback on the cluster and only starts it: rolling back "the newest
    // edit" again would put the invalid runtime back.
    expect(h.mutations()['POST /api/2.1/clusters/update']).toBe(1);
    expect(await h.cluster(clusterId)).toMatchObject({
      state: 'RUNNING',
      spark_version: '15.4.x-scala2.12',
      autoscale: { min_workers: 2, max_workers: 8 },
    });
    expect(events(recovery).filter((event) => event === 'config_change_requested')).toHaveLength(1);
  });

  it.each([
    ['on-demand capacity', '0101-000024-spotrty1', {}, { aws_attributes: { availability: 'SPOT' } }],
    [
      'a fallback node type',
      '0101-000025-capretr1',
      { DatabricksResourceExhausted: { fallback_node_types: ['r5.4xlarge', 'm5.4xlarge'] } },
      { node_type_id: 'r5d.4xlarge', driver_node_type_id: 'r5d.4xlarge' },
    ],
  ])(
    'keeps the original configuration of a fallback to %s whose start failed once and was retried, pending for the next termination',
    async (_name, clusterId, overrides, original) => {
      // Prepare
      h.simulator.admin.setFaults({
        ...START_FAILS_ONCE,
        unavailableNodeTypes: [{ nodeTypeId: 'r5d.4xlarge' }],
      });

      // Act
      const recovery = await h.recoverCluster(clusterId, 'termination', overrides);

      // Assess
      expect(recovery.ticket).toMatchObject({
        status: 'closed',
        recoveryStatus: 'recovered_restore_pending',
        attempts: 1,
      });
      expect(recovery.execution.retries.Remediate).toBe(1);
      expect(h.mutations()['POST /api/2.1/clusters/update']).toBe(1);
      const pending = (await h.restores.list('default')).find((restore) => restore.clusterId === clusterId);
      expect(pending?.original.values).toMatchObject(original);
    },
  );

  it('escalates an INVALID_ARGUMENT with no recent edit without touching the cluster', async () => {
    // Prepare
    const clusterId = '0101-000013-badcnfg1';

    // Act
    const recovery = await h.recoverCluster(clusterId);

    // Assess
    expect(recovery.outcome.classification.action).toBe('rollback_config');
    expect(recovery.ticket).toMatchObject({ status: 'escalated', recoveryStatus: 'failed' });
    expect(recovery.ticket.escalationReason).toBe(
      'DatabricksConfigurationError: the cluster has no recent edit to roll back; the configuration must be fixed by hand (no blind retry)',
    );
    expect(h.mutations()).toEqual({});
    expect(Object.keys(h.simulator.admin.stats().requests).sort()).toEqual([
      'GET /api/2.1/clusters/get',
      'POST /api/2.1/clusters/events',
    ]);
    expect(recovery.execution.states).toEqual(['Remediate', 'RemediationOutcome', 'Escalate']);
  });

  it.each([
    ['an init script failure', '0101-000014-initscr1', 'DatabricksInitScriptFailure', 'INIT_SCRIPT_FAILURE'],
    ['an invalid argument', '0101-000013-badcnfg1', 'DatabricksConfigurationError', 'INVALID_ARGUMENT'],
  ])(
    'escalates %s with the evidence when the action is escalate, and changes nothing',
    async (_name, clusterId, errorType, code) => {
      // Act
      const recovery = await h.recoverWith({ clusterId, errorType, action: 'escalate' });

      // Assess
      expect(recovery.ticket).toMatchObject({ status: 'escalated', recoveryStatus: 'failed' });
      expect(recovery.ticket.escalationReason).toMatch(
        new RegExp(`^no safe automatic action for ${errorType} \\(`),
      );
      const escalated = recovery.audit.find((entry) => entry.event === 'escalated');
      expect(escalated?.details?.evidence).toMatchObject({
        cluster_id: clusterId,
        state: 'TERMINATED',
        termination_reason: { code, type: 'CLIENT_ERROR' },
        state_message: expect.stringContaining(''),
      });
      expect(h.mutations()).toEqual({});
    },
  );
});
