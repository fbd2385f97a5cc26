import { describe, expect, it } from 'vitest';
import { signalFromCluster } from '../../functions/core/signal-builders.ts';
import { type Recovery, useWorkflowHarness, type WorkflowHarness } from './harness.ts';

const repairs = (recovery: Recovery) =>
  recovery.audit.filter((entry) => entry.event === 'remediation_started').map((entry) => entry.details);

describe('recovery workflow: failed job runs', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((created) => {
    h = created;
  });

  it('backs off, then repairs the failed run of a job cluster with rerun_all_failed_tasks', async () => {
    // Prepare
    const clusterId = '0101-000015-jobclst1';
    const cluster = await h.cluster(clusterId);
    const signal = {
      ...signalFromCluster(cluster, 'termination', 'job_notification', {
        workspaceId: 'default',
        now: Date.now(),
      }),
      job: { jobId: '8100', runId: '81000001', jobName: 'nightly-etl', terminationCode: 'CLUSTER_ERROR' },
    };

    // Act
    const outcome = await h.handle(signal);
    const ticketId = outcome.ticket?.ticketId ?? '';
    await h.runner.wait(ticketId);

    // Assess
    expect(outcome.classification.action).toBe('repair_run');
    const found = await h.tickets.getTicket(ticketId);
    expect(found?.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered', attempts: 1 });
    expect(h.mutations()).toEqual({ 'POST /api/2.2/jobs/runs/repair': 1 });
    expect(h.runner.execution(ticketId)?.states.slice(0, 4)).toEqual([
      'Remediate',
      'RemediationOutcome',
      'WaitBeforeRemediation',
      'Remediate',
    ]);
    const run = await h.direct.getRun('81000001', { include_history: true });
    expect(run.state).toMatchObject({ life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' });
    expect(run.repair_history?.filter((entry) => entry.type === 'REPAIR')).toHaveLength(1);
    expect(found?.audit.find((entry) => entry.event === 'remediation_started')?.details).toMatchObject({
      primitive: 'repair',
      description: 'repaired run 81000001 (rerun_all_failed_tasks)',
    });
    expect((await h.runner.describe(ticketId)).output).toMatchObject({
      status: 'closed',
      breakerChanges: [],
    });
  });

  it.each([
    ['named without a cluster', {}],
    ['whose job cluster has terminated', { clusterId: '0101-000023-jobdone1' }],
  ])('closes the ticket of a run that succeeded before it was repaired, %s', async (_name, cluster) => {
    // Act
    const recovery = await h.recoverWith({
      ...cluster,
      jobId: '8400',
      runId: '84000001',
      errorType: 'DatabricksClusterTerminated',
      action: 'repair_run',
    });

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered', attempts: 1 });
    expect(h.mutations()).toEqual({});
    expect(repairs(recovery)).toEqual([
      expect.objectContaining({ primitive: 'none', description: 'run 84000001 has succeeded already' }),
    ]);
    expect(recovery.audit.find((entry) => entry.event === 'health_check_passed')?.details?.detail).toBe(
      'run 84000001 succeeded',
    );
  });

  it('repairs a run again with latest_repair_id when the first repair fails', async () => {
    // Prepare
    const clusterId = '0101-000016-repairt1';
    // The repaired task starts its all-purpose cluster, and that start fails once.
    h.simulator.admin.setFaults({
      failNextStarts: {
        count: 1,
        clusterIds: [clusterId],
        reason: { code: 'CLOUD_PROVIDER_LAUNCH_FAILURE', type: 'CLOUD_FAILURE' },
      },
    });

    // Act
    const recovery = await h.recoverWith({
      clusterId,
      jobId: '8200',
      runId: '82000001',
      errorType: 'DatabricksClusterTerminated',
      action: 'repair_run',
    });

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', attempts: 2 });
    expect(h.mutations()).toEqual({ 'POST /api/2.2/jobs/runs/repair': 2 });
    const run = await h.direct.getRun('82000001', { include_history: true });
    const history = run.repair_history?.filter((entry) => entry.type === 'REPAIR') ?? [];
    expect(history.map((entry) => entry.state?.result_state)).toEqual(['FAILED', 'SUCCESS']);
    const [first, second] = repairs(recovery);
    expect(first).toMatchObject({ description: 'repaired run 82000001 (rerun_all_failed_tasks)' });
    expect(first?.repairId).toBe(history[0]?.id);
    expect(second).toMatchObject({
      description: `repaired run 82000001 (rerun_all_failed_tasks, latest_repair_id ${history[0]?.id})`,
      repairId: history[1]?.id,
    });
    expect(recovery.audit.find((entry) => entry.event === 'attempt_failed')?.details?.reason).toMatch(
      /^repair \d+ of run 82000001 ended FAILED/,
    );
  });
});
