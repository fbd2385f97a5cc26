import { describe, expect, it } from 'vitest';
import type { FaultsInput } from '../../lib/simulator/index.ts';
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
    '503 TEMPORARILY_UNAVAILABLE on clusters/start',
    'Remediate',
    (h) =>
      h.simulator.admin.setFaults({
        throttle: {
          paths: ['/api/2.1/clusters/start'],
          count: 3,
          retryAfterSeconds: 0,
          status: 503,
          errorCode: 'TEMPORARILY_UNAVAILABLE',
        },
      }),
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
    // The first events call is the guard's (Remediate), the second the health check's.
    (h) => h.faultBefore('listClusterEvents', 2, throttle('/api/2.1/clusters/events', 3)),
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
    '503 on clusters/get',
    'RestoreConfig',
    (h) => {
      h.simulator.admin.setFaults({ unavailableNodeTypes: [{ nodeTypeId: 'r5d.4xlarge' }] });
      // The first events call is the health check that passes; RestoreConfig reads the cluster next.
      h.faultBefore('listClusterEvents', 1, {
        ...serverError('/api/2.1/clusters/get', 3, 503),
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
      expect(recovery.ticket.status).toBe('closed');
      // A fallback's original configuration waits for the cluster's next termination.
      expect(recovery.ticket.recoveryStatus).toMatch(/^recovered(_restore_pending)?$/);
      expect(recovery.execution.retries[state]).toBeGreaterThanOrEqual(1);
      expect(recovery.audit.map((entry) => entry.event)).not.toContain('config_restore_skipped');
      const stats = h.simulator.admin.stats();
      const status = fault.slice(0, 3);
      expect(stats.statuses[status]).toBeGreaterThanOrEqual(fault.startsWith('500') ? 1 : 2);
    },
  );

  // Databricks' limit on node launches refills over minutes (api-facts §6.2): the client's seconds of
  // retries and the state machine's Retry would only drain it again.
  it.each([
    [429, '0101-000005-deadst01'],
    [400, '0101-000006-slowst01'],
  ] as const)(
    'waits minutes, not seconds, when Databricks refuses a start with REQUEST_LIMIT_EXCEEDED (%i)',
    async (status, clusterId) => {
      // Prepare: the workspace's launch limit refuses the next two starts.
      h.simulator.admin.setFaults({
        throttle: {
          paths: ['/api/2.1/clusters/start'],
          count: 2,
          retryAfterSeconds: 0,
          status,
          errorCode: 'REQUEST_LIMIT_EXCEEDED',
        },
      });

      // Act
      const recovery = await h.recoverCluster(clusterId);

      // Assess: one refused call per wait (no quick retries), waits of the playbook's
      // launch_throttle_backoff (180 s, then 360 s), no attempt spent, then one start that works.
      const throttled = recovery.audit.filter((entry) => entry.event === 'launch_throttled');
      expect(throttled.map((entry) => entry.details)).toEqual([
        expect.objectContaining({ attempt: 1, refusals: 1, seconds: 180 }),
        expect.objectContaining({ attempt: 1, refusals: 2, seconds: 360 }),
      ]);
      expect(h.simulator.admin.stats().statuses[String(status)]).toBe(2);
      expect(recovery.execution.retries.Remediate ?? 0).toBe(0);
      expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered', attempts: 1 });
      expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/start': 3 });
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
