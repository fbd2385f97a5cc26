import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterScope, errorTypeScope } from '../../functions/core/breaker.ts';
import { executionNameFor } from '../../functions/core/incident.ts';
import { signalFromCluster } from '../../functions/core/signal-builders.ts';
import type { MemoryNotifier } from '../../functions/shared/notify.ts';
import { BreakerContentionError } from '../../functions/store/breakers.ts';
import { useHarmLedger } from '../support/harms.ts';
import {
  createWorkflowHarness,
  events,
  TIME_SCALE,
  useWorkflowHarness,
  type WorkflowHarness,
} from './harness.ts';

const HAPPY_PATH = ['Remediate', 'RemediationOutcome', 'WaitForCluster', 'CheckHealth', 'HealthOutcome'];

describe('recovery workflow: clusters brought back as they were', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((created) => {
    h = created;
  });

  it('restarts a RUNNING cluster whose driver was lost, verifies it and closes the ticket', async () => {
    // Prepare
    const clusterId = '0101-000001-drvlost1';
    h.simulator.admin.crashDriver(clusterId);

    // Act
    const recovery = await h.recoverCluster(clusterId, 'driver_loss');

    // Assess
    expect(recovery.status).toBe('SUCCEEDED');
    expect(recovery.outcome.classification.errorType).toBe('DatabricksDriverNotResponding');
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered', attempts: 1 });
    expect(recovery.ticket.resolutionSeconds).toBeGreaterThan(0);
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/restart': 1 });
    expect(events(recovery)).toEqual(
      expect.arrayContaining(['ticket_opened', 'remediation_started', 'health_check_passed', 'recovered']),
    );
    expect((await h.cluster(clusterId)).state).toBe('RUNNING');
    // The happy path: six state transitions, the figure docs/workflow.md reports.
    expect(recovery.execution.states).toEqual([...HAPPY_PATH, 'Close']);
    expect(h.runner.transitions(recovery.ticket.ticketId)).toBe(6);
    const [message] = (h.notifier as MemoryNotifier).for(recovery.ticket.ticketId);
    expect(message).toMatchObject({
      outcome: 'recovered',
      clusterId,
      errorType: 'DatabricksDriverNotResponding',
      action: 'restart_cluster',
      clusterUrl: `${h.simulator.url}/#setting/clusters/${clusterId}/configuration`,
    });
    const logged = h.logs.map((line) => line.message);
    expect(logged).toEqual(
      expect.arrayContaining([
        'failure detected',
        'executing remediation',
        'cluster healthy',
        'ticket closed',
      ]),
    );
  });

  it.each([
    ['a cloud provider shutdown', '0101-000002-shutdwn1', 'DatabricksClusterTerminated'],
    ["the seed's unreachable driver", '0101-000003-unreach1', 'DatabricksDriverNotResponding'],
  ])(
    'starts a cluster TERMINATED by %s and closes the ticket once it is healthy',
    async (_name, clusterId, errorType) => {
      // Act
      const recovery = await h.recoverCluster(clusterId);

      // Assess
      expect(recovery.outcome.classification.errorType).toBe(errorType);
      expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered', attempts: 1 });
      expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/start': 1 });
      expect(recovery.audit.find((entry) => entry.event === 'remediation_started')?.details).toMatchObject({
        primitive: 'start',
        clusterState: 'TERMINATED',
      });
      expect((await h.cluster(clusterId)).state).toBe('RUNNING');
      expect(recovery.output).toMatchObject({ status: 'closed', outcome: 'recovered', attempts: 1 });
      expect(recovery.execution.states).toEqual([...HAPPY_PATH, 'Close']);
    },
  );

  it('retries a start that fails twice with back-off and closes the ticket after the third attempt', async () => {
    // Prepare
    const clusterId = '0101-000004-flaky001';
    h.simulator.admin.setFaults({
      failNextStarts: {
        count: 2,
        clusterIds: [clusterId],
        reason: { code: 'CLOUD_PROVIDER_LAUNCH_FAILURE', type: 'CLOUD_FAILURE' },
      },
    });

    // Act
    const recovery = await h.recoverCluster(clusterId);

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', attempts: 3 });
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/start': 3 });
    expect(events(recovery).filter((event) => event === 'attempt_failed')).toHaveLength(2);
    const backoffs = recovery.audit
      .filter((entry) => entry.event === 'retry_scheduled')
      .map((entry) => entry.details?.backoffSeconds);
    expect(backoffs).toEqual([60, 120]);
    expect(recovery.execution.states.filter((state) => state === 'WaitBeforeRemediation')).toHaveLength(2);
  });

  it('escalates a cluster that is not healthy within health_check_timeout', async () => {
    // Prepare
    const clusterId = '0101-000006-slowst01';
    const overrides = { DatabricksClusterTerminated: { health_check_timeout: 60, max_attempts: 1 } };

    // Act
    const recovery = await h.recoverCluster(clusterId, 'termination', overrides);

    // Assess
    expect(recovery.status).toBe('SUCCEEDED');
    expect(recovery.ticket).toMatchObject({ status: 'escalated', recoveryStatus: 'failed', attempts: 1 });
    expect(recovery.ticket.escalationReason).toMatch(/not healthy within health_check_timeout \(60 s\)/);
    expect(recovery.execution.states.at(-1)).toBe('Escalate');
    expect((h.notifier as MemoryNotifier).for(recovery.ticket.ticketId)[0]).toMatchObject({
      outcome: 'escalated',
    });
  });

  it('escalates when the next attempt would not fit in timeout_seconds, before max_attempts', async () => {
    // Prepare
    const clusterId = '0101-000022-notify01';
    const overrides = {
      DatabricksClusterTerminated: { timeout_seconds: 300, health_check_timeout: 120, max_attempts: 5 },
      DatabricksClusterStartFailure: { timeout_seconds: 300, health_check_timeout: 120, max_attempts: 5 },
    };
    h.simulator.admin.setFaults({
      failNextStarts: {
        count: 100,
        clusterIds: [clusterId],
        reason: { code: 'CLOUD_PROVIDER_LAUNCH_FAILURE', type: 'CLOUD_FAILURE' },
      },
    });

    // Act
    const recovery = await h.recoverCluster(clusterId, 'termination', overrides);

    // Assess
    expect(recovery.ticket.status).toBe('escalated');
    expect(recovery.ticket.escalationReason).toMatch(/timeout_seconds \(300 s\)/);
    expect(recovery.ticket.attempts).toBeLessThan(5);
  });

  it('waits for a TERMINATING cluster to be TERMINATED before it starts it', async () => {
    // Prepare
    const clusterId = '0101-000007-termng01';
    h.simulator.admin.setTimeScale(0);
    h.simulator.admin.failCluster(clusterId, { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' });
    // Time moves again once the workflow has seen the cluster TERMINATING.
    h.before('getCluster', ({ count }) => {
      if (count >= 1) h.simulator.admin.setTimeScale(TIME_SCALE);
    });

    // Act
    const recovery = await h.recoverCluster(clusterId);

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', attempts: 1 });
    expect(recovery.execution.states.slice(0, 4)).toEqual([
      'Remediate',
      'RemediationOutcome',
      'WaitBeforeRemediation',
      'Remediate',
    ]);
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/start': 1 });
    expect(events(recovery)).not.toContain('attempt_failed');
  });

  it('counts an INVALID_STATE answer to its start as started when someone else started the cluster first', async () => {
    // Prepare
    const clusterId = '0101-000008-racer001';
    h.before('startCluster', async ({ count }) => {
      if (count === 1) await h.direct.startCluster(clusterId);
    });

    // Act
    const recovery = await h.recoverCluster(clusterId);

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', attempts: 1 });
    expect(h.simulator.admin.stats().statuses['400']).toBe(1);
    expect(recovery.audit.find((entry) => entry.event === 'remediation_started')?.details).toMatchObject({
      primitive: 'wait',
      description: expect.stringContaining('INVALID_STATE: PENDING'),
    });
  });

  it('records what it would do in shadow mode and changes nothing', async () => {
    // Prepare
    const clusterId = '0101-000009-shadow01';
    const overrides = { DatabricksClusterTerminated: { mode: 'shadow' } };

    // Act
    const recovery = await h.recoverCluster(clusterId, 'termination', overrides);

    // Assess
    expect(h.mutations()).toEqual({});
    expect((await h.cluster(clusterId)).state).toBe('TERMINATED');
    expect(recovery.ticket).toMatchObject({ status: 'escalated', recoveryStatus: 'shadow' });
    expect(recovery.ticket.escalationReason).toBe(
      'shadow mode: would have started the TERMINATED cluster; nothing was changed',
    );
    expect(recovery.audit.find((entry) => entry.event === 'shadow_plan')?.details).toMatchObject({
      wouldDo: 'started the TERMINATED cluster',
    });
    expect((await h.breakers.get(clusterScope('default', clusterId)))?.recentFailures ?? []).toEqual([]);
    expect((h.notifier as MemoryNotifier).for(recovery.ticket.ticketId)[0]).toMatchObject({
      outcome: 'shadow',
    });
  });

  it('records no failure on the breakers when a shadow playbook escalates', async () => {
    // Prepare: a configuration error without an edit to roll back escalates before any action.
    const clusterId = '0101-000013-badcnfg1';
    const overrides = { DatabricksConfigurationError: { mode: 'shadow' } };

    // Act
    const recovery = await h.recoverCluster(clusterId, 'termination', overrides);

    // Assess
    const ticketId = recovery.ticket.ticketId;
    expect(recovery.ticket).toMatchObject({ status: 'escalated', recoveryStatus: 'shadow', attempts: 0 });
    expect(h.mutations()).toEqual({});
    for (const scope of [
      clusterScope('default', clusterId),
      errorTypeScope('DatabricksConfigurationError'),
    ]) {
      const failures = (await h.breakers.get(scope))?.recentFailures ?? [];
      expect(failures.map((failure) => failure.ticketId)).not.toContain(ticketId);
    }
    expect(recovery.output).toMatchObject({ outcome: 'shadow', breakerChanges: [] });
  });

  it('verifies a cluster it finds RESIZING once it is RUNNING again, without waiting for a restart', async () => {
    // Prepare: someone resizes the cluster; the workflow reads it while it is still RESIZING.
    const clusterId = '0101-000028-resize01';
    h.simulator.admin.setTimeScale(0);
    const resized = await fetch(`${h.simulator.url}/api/2.1/clusters/resize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.simulator.token}` },
      body: JSON.stringify({ cluster_id: clusterId, num_workers: 4 }),
    });
    expect(resized.status).toBe(200);
    h.before('getCluster', ({ count }) => {
      if (count >= 1) h.simulator.admin.setTimeScale(TIME_SCALE);
    });

    // Act
    const recovery = await h.recoverWith({
      clusterId,
      errorType: 'DatabricksClusterTerminated',
      action: 'restart_cluster',
      playbook: { health_check_timeout: 600, max_attempts: 1 },
    });

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', attempts: 1 });
    expect(recovery.audit.find((entry) => entry.event === 'remediation_started')?.details).toMatchObject({
      primitive: 'wait',
      clusterState: 'RESIZING',
    });
    expect(Object.keys(h.mutations())).toEqual(['POST /api/2.1/clusters/resize']);
    expect(events(recovery)).not.toContain('attempt_failed');
  });

  it('names its execution on a ticket it takes over from open, so the reconciler can find it', async () => {
    // Prepare
    const clusterId = '0101-000029-takeovr1';

    // Act: the intake never moved the ticket to in_progress (it lost the race, or died).
    const recovery = await h.recoverWithoutIntake({
      clusterId,
      errorType: 'DatabricksClusterTerminated',
      action: 'restart_cluster',
    });

    // Assess
    const ticketId = recovery.ticket.ticketId;
    expect(recovery.ticket).toMatchObject({ status: 'closed', executionName: executionNameFor(ticketId) });
    expect(events(recovery)).toContain('workflow_took_over');
    expect(events(recovery)).not.toContain('workflow_started');
  });
});

describe('recovery workflow: an escalation retried after it opened a breaker', () => {
  let h: WorkflowHarness;
  let failedOnce = false;
  beforeAll(async () => {
    h = await createWorkflowHarness({
      breakerConfig: { failureThreshold: 1 },
      // The error type's breaker write loses to concurrent writers once, after the cluster's opened.
      workflowBreakers: (breakers) => ({
        recordSuccess: (scope, ticketId) => breakers.recordSuccess(scope, ticketId),
        release: (scope, ticketId) => breakers.release(scope, ticketId),
        recordFailure: async (scope, ticketId) => {
          if (scope.startsWith('error_type#') && !failedOnce) {
            failedOnce = true;
            throw new BreakerContentionError(scope, 40);
          }
          return breakers.recordFailure(scope, ticketId);
        },
      }),
    });
  });
  afterAll(async () => {
    await h?.close();
  });
  useHarmLedger(() => h?.simulator);

  it('still reports the breaker it opened before the retry, in the notification and the metric log', async () => {
    // Prepare
    const clusterId = '0101-000013-badcnfg1';

    // Act
    const recovery = await h.recoverCluster(clusterId);

    // Assess
    expect(failedOnce).toBe(true);
    expect(recovery.execution.retries.Escalate).toBe(1);
    expect(recovery.ticket.status).toBe('escalated');
    const opened = [
      { scope: clusterScope('default', clusterId), transition: 'opened' },
      { scope: errorTypeScope('DatabricksConfigurationError'), transition: 'opened' },
    ];
    expect((h.notifier as MemoryNotifier).for(recovery.ticket.ticketId)[0]?.breakerChanges).toEqual(opened);
    expect(recovery.output).toMatchObject({ breakerChanges: opened });
    const logged = h.logs.filter((line) => line.message === 'circuit breaker opened');
    expect(logged.map((line) => line.attributes.scope)).toEqual(
      expect.arrayContaining(opened.map((change) => change.scope)),
    );
  });
});

describe('recovery workflow: a start that keeps failing', () => {
  let h: WorkflowHarness;
  beforeAll(async () => {
    h = await createWorkflowHarness({ breakerConfig: { failureThreshold: 2 } });
  });
  afterAll(async () => {
    await h?.close();
  });
  useHarmLedger(() => h?.simulator);

  it('escalates after max_attempts, and the second failed recovery opens the cluster breaker', async () => {
    // Prepare
    const clusterId = '0101-000005-deadst01';
    // The first incident is the shutdown; the next ones are the failed starts it leaves behind.
    const overrides = {
      DatabricksClusterTerminated: { max_attempts: 2 },
      DatabricksClusterStartFailure: { max_attempts: 2 },
    };
    h.simulator.admin.setFaults({
      failNextStarts: {
        count: 100,
        clusterIds: [clusterId],
        reason: { code: 'CLOUD_PROVIDER_LAUNCH_FAILURE', type: 'CLOUD_FAILURE' },
      },
    });

    // Act
    const first = await h.recoverCluster(clusterId, 'termination', overrides);
    const second = await h.recoverCluster(clusterId, 'termination', overrides);
    const signal = signalFromCluster(await h.cluster(clusterId), 'termination', 'poller', {
      workspaceId: 'default',
      now: Date.now(),
    });
    const third = await h.handle(signal, overrides);

    // Assess
    expect([first.ticket.errorType, second.ticket.errorType]).toEqual([
      'DatabricksClusterTerminated',
      'DatabricksClusterStartFailure',
    ]);
    for (const recovery of [first, second]) {
      expect(recovery.ticket).toMatchObject({ status: 'escalated', recoveryStatus: 'failed', attempts: 2 });
      expect(recovery.ticket.escalationReason).toMatch(
        /^recovery failed after 2 attempts \(max_attempts 2\): the cluster is TERMINATED \(CLOUD_PROVIDER_LAUNCH_FAILURE\)/,
      );
    }
    const notifier = h.notifier as MemoryNotifier;
    expect(notifier.for(first.ticket.ticketId)[0]?.breakerChanges).toEqual([]);
    expect(notifier.for(second.ticket.ticketId)[0]?.breakerChanges).toEqual([
      { scope: clusterScope('default', clusterId), transition: 'opened' },
    ]);
    expect((await h.breakers.get(clusterScope('default', clusterId)))?.state).toBe('open');
    expect((await h.breakers.get(errorTypeScope('DatabricksClusterStartFailure')))?.state).toBe('closed');
    expect(third).toMatchObject({ status: 'escalated', recoveryStatus: 'blocked' });
    expect(h.runner.execution(third.ticket?.ticketId ?? '')).toBeUndefined();
  });
});
