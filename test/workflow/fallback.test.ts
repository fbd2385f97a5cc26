import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { MemoryNotifier } from '../../functions/shared/notify.ts';
import type { FaultsInput } from '../../lib/simulator/index.ts';
import { expectKnownHarms } from '../support/harms.ts';
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

  it('starts a cluster without capacity on a fallback node type, then restores the original node type', async () => {
    // Prepare
    const clusterId = '0101-000010-capacty1';
    h.simulator.admin.setFaults({ unavailableNodeTypes: [{ nodeTypeId: 'r5d.4xlarge' }] });
    // Capacity comes back while the cluster runs on the fallback.
    h.faultBefore('updateCluster', 2, { unavailableNodeTypes: null });
    const overrides = { DatabricksResourceExhausted: { fallback_node_types: ['r5.4xlarge', 'm5.4xlarge'] } };

    // Act
    const recovery = await h.recoverCluster(clusterId, 'termination', overrides);

    // Assess
    expect(recovery.outcome.classification.action).toBe('restart_with_different_instance_type');
    expect(recovery.ticket).toMatchObject({ status: 'closed', attempts: 1 });
    expect(recovery.audit.find((entry) => entry.event === 'remediation_started')?.details).toMatchObject({
      primitive: 'fallback_start',
      changes: { node_type_id: 'r5.4xlarge', driver_node_type_id: 'r5.4xlarge' },
    });
    expect(events(recovery).filter((event) => event === 'health_check_passed')).toHaveLength(2);
    expect(events(recovery)).toContain('config_restore_started');
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/update': 2, 'POST /api/2.1/clusters/start': 1 });
    const cluster = await h.cluster(clusterId);
    expect(cluster).toMatchObject({
      state: 'RUNNING',
      node_type_id: 'r5d.4xlarge',
      driver_node_type_id: 'r5d.4xlarge',
    });
    expect(recovery.execution.states).toContain('RestoreConfig');
    const [message] = (h.notifier as MemoryNotifier).for(recovery.ticket.ticketId);
    expect(message?.summary).toMatch(
      /^Switched node type r5d\.4xlarge → r5\.4xlarge .*; then restored node_type_id="r5d\.4xlarge"/,
    );
    // known harm, fixed by issue 11: the restore of the original node type updates the RUNNING cluster, restarting it
    expectKnownHarms(h.simulator, [`restart_of_running_config_change ${clusterId}`]);
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
    'restores the original configuration after a fallback to %s whose start failed once and was retried',
    async (_name, clusterId, overrides, original) => {
      // Prepare
      h.simulator.admin.setFaults({
        ...START_FAILS_ONCE,
        unavailableNodeTypes: [{ nodeTypeId: 'r5d.4xlarge' }],
      });
      // Capacity comes back while the cluster runs on the fallback.
      h.faultBefore('updateCluster', 2, { unavailableNodeTypes: null });

      // Act
      const recovery = await h.recoverCluster(clusterId, 'termination', overrides);

      // Assess
      expect(recovery.ticket).toMatchObject({ status: 'closed', attempts: 1 });
      expect(recovery.execution.retries.Remediate).toBe(1);
      expect(events(recovery)).toContain('config_restore_started');
      expect(h.mutations()['POST /api/2.1/clusters/update']).toBe(2);
      expect(await h.cluster(clusterId)).toMatchObject({ state: 'RUNNING', ...original });
      // known harm, fixed by issue 11: the restore of the original node type updates the RUNNING cluster, restarting it
      expectKnownHarms(h.simulator, [`restart_of_running_config_change ${clusterId}`]);
    },
  );

  it('re-applies the fallback when the original node type still has no capacity at the restore, and closes the ticket', async () => {
    // Prepare
    const clusterId = '0101-000026-caprest1';
    h.simulator.admin.setFaults({ unavailableNodeTypes: [{ nodeTypeId: 'r5d.4xlarge' }] });
    // The restore (the second update) restarts the cluster on r5d.4xlarge, which still has no
    // capacity: the cluster terminates before it is healthy.
    let restoring = false;
    let failed = false;
    h.before('updateCluster', ({ count }) => {
      if (count === 2) restoring = true;
    });
    h.before('getCluster', () => {
      if (!restoring || failed) return;
      failed = true;
      h.simulator.admin.failCluster(clusterId, {
        code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE',
        type: 'CLOUD_FAILURE',
      });
    });
    const overrides = {
      DatabricksResourceExhausted: { fallback_node_types: ['r5.4xlarge'], max_attempts: 1 },
    };

    // Act
    const recovery = await h.recoverCluster(clusterId, 'termination', overrides);

    // Assess
    expect(failed).toBe(true);
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered', attempts: 1 });
    expect(await h.cluster(clusterId)).toMatchObject({
      state: 'RUNNING',
      node_type_id: 'r5.4xlarge',
      driver_node_type_id: 'r5.4xlarge',
    });
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/update': 3, 'POST /api/2.1/clusters/start': 2 });
    const [message] = (h.notifier as MemoryNotifier).for(recovery.ticket.ticketId);
    expect(message?.summary).toMatch(
      /the original configuration could not be restored, the cluster keeps the fallback$/,
    );
    // known harm, fixed by issue 11: the restore of the original node type updates the RUNNING cluster, restarting it
    expectKnownHarms(h.simulator, [`restart_of_running_config_change ${clusterId}`]);
  });

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
