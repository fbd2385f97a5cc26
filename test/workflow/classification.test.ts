import { describe, expect, it } from 'vitest';
import { signalFromCluster } from '../../functions/core/signal-builders.ts';
import type { TerminationReasonSeed } from '../../lib/simulator/scenario.ts';
import { useWorkflowHarness, WORKSPACE, type WorkflowHarness } from './harness.ts';

/** Issue #11: terminations the automation must not restart, and a pool it must wait for. */
describe('recovery workflow: corrected classifications', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((created) => {
    h = created;
  });

  /** Fails a RUNNING cluster of the scenario with `reason` and waits until it is TERMINATED. */
  async function failWith(clusterId: string, reason: TerminationReasonSeed): Promise<void> {
    h.simulator.admin.failCluster(clusterId, reason);
    for (let i = 0; i < 200 && (await h.cluster(clusterId)).state !== 'TERMINATED'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await h.cluster(clusterId)).state).toBe('TERMINATED');
  }

  it.each([
    ['IN_PENALTY_BOX', '0101-000001-drvlost1', 'DatabricksWorkspaceStateError', {}],
    ['DATA_ACCESS_CONFIG_CHANGED', '0101-000007-termng01', 'DatabricksWorkspaceStateError', {}],
    ['WORKSPACE_UPDATE', '0101-000019-api00003', 'DatabricksWorkspaceMaintenance', {}],
    [
      'CLOUD_PROVIDER_LAUNCH_FAILURE',
      '0101-000020-api00004',
      'DatabricksCloudQuotaExceeded',
      { aws_api_error_code: 'InstanceLimitExceeded' },
    ],
  ])(
    'escalates a cluster terminated by %s without starting it',
    async (code, clusterId, errorType, parameters) => {
      // Prepare
      await failWith(clusterId, { code, type: 'SERVICE_FAULT', parameters });
      h.simulator.admin.resetStats();

      // Act
      const signal = signalFromCluster(await h.cluster(clusterId), 'termination', 'poller', {
        workspaceId: WORKSPACE,
        now: Date.now(),
      });
      const outcome = await h.handle(signal);

      // Assess
      expect(outcome.classification).toMatchObject({ errorType, action: 'escalate' });
      expect(outcome).toMatchObject({ status: 'escalated', ticket: { status: 'escalated' } });
      expect(h.mutations()).toEqual({});
      expect((await h.cluster(clusterId)).state).toBe('TERMINATED');
    },
  );

  it('waits for a full instance pool, then starts the cluster as it was, without editing it', async () => {
    // Prepare
    const clusterId = '0101-000028-resize01';
    await failWith(clusterId, { code: 'INSTANCE_POOL_MAX_CAPACITY_REACHED', type: 'CLIENT_ERROR' });
    h.simulator.admin.resetStats();

    // Act
    const recovery = await h.recoverCluster(clusterId);

    // Assess
    expect(recovery.outcome.classification).toMatchObject({
      errorType: 'DatabricksInstancePoolExhausted',
      action: 'retry_with_backoff',
    });
    expect(recovery.audit.find((entry) => entry.event === 'backoff_scheduled')?.details).toMatchObject({
      seconds: 300,
    });
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/start': 1 });
  });
});
