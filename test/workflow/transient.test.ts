import { describe, expect, it } from 'vitest';
import type { FaultsInput } from '../../lib/simulator/index.ts';
import { expectKnownHarms } from '../support/harms.ts';
import { type Recovery, useWorkflowHarness, type WorkflowHarness } from './harness.ts';

type Setup = (h: WorkflowHarness) => Promise<Recovery>;

/** Throttling without a real wait: Retry-After 0. */
const throttle = (path: string, count: number): FaultsInput => ({
  throttle: { paths: [path], count, retryAfterSeconds: 0 },
});
const serverError = (path: string, count: number, status = 500): FaultsInput => ({
  serverErrors: { paths: [path], count, status },
});

const cluster =
  (clusterId: string, kind: 'termination' | 'driver_loss' = 'termination', overrides: unknown = {}): Setup =>
  (h) => {
    if (kind === 'driver_loss') h.simulator.admin.crashDriver(clusterId);
    return h.recoverCluster(clusterId, kind, overrides);
  };

const run =
  (runId: string): Setup =>
  (h) =>
    h.recoverWith({ runId, jobId: '8300', errorType: 'DatabricksClusterTerminated', action: 'repair_run' });

// The client makes two attempts per call; the faults outlast them, so the state machine's Retry
// (TransientError) must finish the job.
const CASES: readonly (readonly [string, string, string, (h: WorkflowHarness) => void, Setup])[] = [
  [
    'remediate',
    '429 on clusters/start',
    'Remediate',
    (h) => h.simulator.admin.setFaults(throttle('/api/2.1/clusters/start', 3)),
    cluster('0101-000017-api00001'),
  ],
  [
    'remediate',
    '500 on clusters/start',
    'Remediate',
    (h) => h.simulator.admin.setFaults(serverError('/api/2.1/clusters/start', 1)),
    cluster('0101-000018-api00002'),
  ],
  [
    'check_health',
    '429 on clusters/events',
    'CheckHealth',
    (h) => h.simulator.admin.setFaults(throttle('/api/2.1/clusters/events', 3)),
    cluster('0101-000019-api00003', 'driver_loss'),
  ],
  [
    'check_health',
    '503 on clusters/get',
    'CheckHealth',
    (h) => h.faultBefore('getCluster', 2, serverError('/api/2.1/clusters/get', 3, 503)),
    cluster('0101-000020-api00004', 'driver_loss'),
  ],
  [
    'restore_config',
    '429 on clusters/update',
    'RestoreConfig',
    (h) => {
      h.simulator.admin.setFaults({ unavailableNodeTypes: [{ nodeTypeId: 'r5d.4xlarge' }] });
      h.faultBefore('updateCluster', 2, {
        ...throttle('/api/2.1/clusters/update', 3),
        unavailableNodeTypes: null,
      });
    },
    cluster('0101-000021-api00005', 'termination', {
      DatabricksResourceExhausted: { fallback_node_types: ['r5.4xlarge'] },
    }),
  ],
  [
    'remediate',
    '500 on jobs/runs/repair',
    'Remediate',
    (h) => h.simulator.admin.setFaults(serverError('/api/2.2/jobs/runs/repair', 1)),
    run('83000001'),
  ],
  [
    'check_health',
    '429 on jobs/runs/get',
    'CheckHealth',
    (h) => h.faultBefore('getRun', 2, throttle('/api/2.2/jobs/runs/get', 3)),
    run('83000002'),
  ],
];

// known harm, fixed by issue 11: the workflow restarts a driver-loss cluster that Databricks healed
// (DRIVER_HEALTHY) before the restart, and restores the original node type with an update that
// restarts the RUNNING cluster.
const KNOWN_HARMS: Readonly<Record<string, readonly string[]>> = {
  '429 on clusters/events': ['restart_healthy_cluster 0101-000019-api00003'],
  '503 on clusters/get': ['restart_healthy_cluster 0101-000020-api00004'],
  '429 on clusters/update': ['restart_of_running_config_change 0101-000021-api00005'],
};

describe('recovery workflow: Databricks throttling and server errors', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((created) => {
    h = created;
  });

  it.each(CASES)(
    'retries the %s step through %s and completes the recovery',
    async (_step, fault, state, arm, recover) => {
      // Prepare
      arm(h);

      // Act
      const recovery = await recover(h);

      // Assess
      expect(recovery.status).toBe('SUCCEEDED');
      expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
      expect(recovery.execution.retries[state]).toBeGreaterThanOrEqual(1);
      expect(recovery.audit.map((entry) => entry.event)).not.toContain('config_restore_skipped');
      const stats = h.simulator.admin.stats();
      const status = fault.slice(0, 3);
      expect(stats.statuses[status]).toBeGreaterThanOrEqual(fault.startsWith('500') ? 1 : 2);
      expectKnownHarms(h.simulator, KNOWN_HARMS[fault] ?? []);
    },
  );

  it.each([
    ['Sandbox.Timedout', '0101-000002-shutdwn1'],
    ['Lambda.Unknown', '0101-000003-unreach1'],
  ])(
    'retries a task that Step Functions reports as %s (the Lambda timed out) and completes the recovery',
    async (name, clusterId) => {
      // Prepare: the first invocation dies mid-task, as a Lambda that hits its own timeout does.
      h.before('getCluster', ({ count }) => {
        if (count === 1) throw Object.assign(new Error('Task timed out after 60.00 seconds'), { name });
      });

      // Act
      const recovery = await h.recoverCluster(clusterId);

      // Assess
      expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered', attempts: 1 });
      expect(recovery.execution.retries.Remediate).toBe(1);
      expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/start': 1 });
    },
  );

  it('escalates the ticket when Databricks keeps failing after every retry', async () => {
    // Prepare
    h.simulator.admin.setFaults(serverError('/api/2.1/clusters/get', 1000));

    // Act
    const recovery = await h.recoverWith({
      clusterId: '0101-000022-notify01',
      errorType: 'DatabricksClusterTerminated',
      action: 'restart_cluster',
    });

    // Assess
    expect(recovery.status).toBe('SUCCEEDED');
    expect(recovery.execution.retries.Remediate).toBe(5);
    expect(recovery.ticket).toMatchObject({ status: 'escalated', recoveryStatus: 'failed' });
    expect(recovery.ticket.escalationReason).toMatch(
      /^the recovery stopped on an error: TransientError: DatabricksApiError: GET \/api\/2\.1\/clusters\/get failed with 500 INTERNAL_ERROR/,
    );
    expect(recovery.execution.states).toEqual(['Remediate', 'Escalate']);
  });
});
