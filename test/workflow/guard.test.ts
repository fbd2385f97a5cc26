import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { FailureSignal } from '../../functions/core/signal.ts';
import { signalFromCluster } from '../../functions/core/signal-builders.ts';
import { DatabricksApiError } from '../../functions/databricks/errors.ts';
import { events, type Recovery, useWorkflowHarness, WORKSPACE, type WorkflowHarness } from './harness.ts';

const GUARD_SCENARIO = JSON.parse(
  readFileSync(new URL('../fixtures/workflow/guard-scenario.json', import.meta.url), 'utf8'),
);

/** A person acting through the REST API, as they would from the UI or a notebook. */
async function asUser(h: WorkflowHarness, operation: 'start' | 'delete', clusterId: string): Promise<void> {
  const response = await fetch(`${h.simulator.url}/api/2.1/clusters/${operation}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.simulator.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ cluster_id: clusterId }),
  });
  if (!response.ok) throw new Error(`${operation} as a user failed: ${response.status}`);
}

async function until(h: WorkflowHarness, clusterId: string, state: string): Promise<void> {
  while ((await h.cluster(clusterId)).state !== state) await sleep(10);
}

async function signalOf(h: WorkflowHarness, clusterId: string): Promise<FailureSignal> {
  return signalFromCluster(await h.cluster(clusterId), 'termination', 'poller', {
    workspaceId: WORKSPACE,
    now: Date.now(),
  });
}

/** The signal through the incident path, and the execution waited for. */
async function recover(h: WorkflowHarness, signal: FailureSignal, overrides: unknown = {}) {
  const outcome = await h.handle(signal, overrides);
  const ticketId = outcome.ticket?.ticketId ?? '';
  await h.runner.wait(ticketId);
  const found = await h.tickets.getTicket(ticketId);
  if (found === undefined) throw new Error(`ticket ${ticketId} is missing`);
  return { outcome, ...found };
}

const resolution = (audit: Recovery['audit']) =>
  audit.find((entry) => entry.event === 'failure_no_longer_present')?.details;

describe('recovery workflow: the guard before every mutating call', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((created) => {
    h = created;
    h.simulator.admin.loadScenario(GUARD_SCENARIO);
  });

  it('closes a stale event for a cluster its owner stopped without starting it', async () => {
    // Prepare: the failure is reported late; meanwhile its owner started the cluster and stopped it.
    const clusterId = '0201-000001-stale001';
    const stale = await signalOf(h, clusterId);
    await asUser(h, 'start', clusterId);
    await until(h, clusterId, 'RUNNING');
    await asUser(h, 'delete', clusterId);
    await until(h, clusterId, 'TERMINATED');
    h.simulator.admin.resetStats();

    // Act
    const recovery = await recover(h, stale);

    // Assess
    expect(recovery.outcome.classification.action).toBe('restart_cluster');
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'resolved_without_action' });
    expect(resolution(recovery.audit)).toMatchObject({ resolution: 'stopped_by_owner' });
    expect(h.mutations()).toEqual({});
    expect((await h.cluster(clusterId)).state).toBe('TERMINATED');
  });

  it('stops after its own start when a user terminates the cluster mid-recovery, and never starts it again', async () => {
    // Prepare: the user stops the cluster right after the workflow started it.
    const clusterId = '0201-000002-racer002';
    h.before('getCluster', async ({ count }) => {
      if (count === 2) await asUser(h, 'delete', clusterId);
    });

    // Act
    const recovery = await recover(h, await signalOf(h, clusterId));

    // Assess
    expect(recovery.ticket).toMatchObject({
      status: 'closed',
      recoveryStatus: 'resolved_without_action',
      attempts: 1,
    });
    expect(resolution(recovery.audit)).toMatchObject({ resolution: 'stopped_by_owner' });
    expect(h.mutations()).toEqual({
      'POST /api/2.1/clusters/start': 1,
      'POST /api/2.1/clusters/delete': 1,
    });
    await until(h, clusterId, 'TERMINATED');
    expect((await h.cluster(clusterId)).termination_reason?.code).toBe('USER_REQUEST');
  });

  it('never touches a PIPELINE cluster, even when the signal lost its cluster_source', async () => {
    // Prepare: enrichment failed, so the classifier did not know who owns the cluster.
    const { clusterSource: _lost, ...signal } = await signalOf(h, '0201-000003-pipeln01');

    // Act
    const recovery = await recover(h, signal);

    // Assess
    expect(recovery.outcome.classification.action).toBe('restart_cluster');
    expect(recovery.ticket).toMatchObject({ status: 'escalated' });
    expect(recovery.ticket.escalationReason).toMatch(/belongs to PIPELINE \(cluster_source read just now\)/);
    expect(h.mutations()).toEqual({});
  });

  it('backs off and starts a pool cluster short of capacity on its pool, never with another node type', async () => {
    // Act
    const recovery = await h.recoverWith({
      clusterId: '0201-000004-poolcap1',
      errorType: 'DatabricksResourceExhausted',
      action: 'restart_with_different_instance_type',
      playbook: { fallback_node_types: ['r5.4xlarge'] },
    });

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered', attempts: 1 });
    expect(events(recovery)).toContain('backoff_scheduled');
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/start': 1 });
    expect(await h.cluster('0201-000004-poolcap1')).toMatchObject({
      state: 'RUNNING',
      node_type_id: 'i3.xlarge',
      instance_pool_id: '0201-pool-aaaa',
    });
  });

  it('moves a pool cluster short of capacity to a configured alternative pool, driver pool included', async () => {
    // Act
    const recovery = await h.recoverWith({
      clusterId: '0201-000011-poolcap2',
      errorType: 'DatabricksResourceExhausted',
      action: 'restart_with_different_instance_type',
      playbook: { fallback_node_types: ['r5.4xlarge'], fallback_instance_pool_ids: ['0201-pool-bbbb'] },
    });

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered_restore_pending' });
    expect(recovery.audit.find((entry) => entry.event === 'remediation_started')?.details).toMatchObject({
      primitive: 'fallback_start',
      changes: { instance_pool_id: '0201-pool-bbbb', driver_instance_pool_id: '0201-pool-bbbb' },
    });
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/update': 1, 'POST /api/2.1/clusters/start': 1 });
    expect(await h.cluster('0201-000011-poolcap2')).toMatchObject({ node_type_id: 'i3.xlarge' });
  });

  it('closes a driver loss Databricks healed by itself as healed, without restarting the cluster', async () => {
    // Prepare: this time the driver comes back within a second (DRIVER_NOT_RESPONDING, DRIVER_HEALTHY).
    const clusterId = '0201-000005-healed01';
    h.simulator.admin.loadScenario({ timings: { driverRecoveryMs: 1000 }, clusters: [] });
    try {
      h.simulator.admin.crashDriver(clusterId);
    } finally {
      h.simulator.admin.loadScenario({ timings: { driverRecoveryMs: 86_400_000 }, clusters: [] });
    }
    await sleep(20);

    // Act
    const recovery = await h.recoverCluster(clusterId, 'driver_loss');

    // Assess
    expect(recovery.outcome.classification.errorType).toBe('DatabricksDriverNotResponding');
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'resolved_without_action' });
    expect(resolution(recovery.audit)).toMatchObject({ resolution: 'healed_by_databricks' });
    expect(h.mutations()).toEqual({});
    expect(recovery.execution.states).toEqual(['Remediate', 'RemediationOutcome', 'Close']);
  });

  it('closes the ticket of a cluster someone else brought back, without touching it', async () => {
    // Prepare
    const clusterId = '0201-000006-backup01';
    const signal = await signalOf(h, clusterId);
    await asUser(h, 'start', clusterId);
    await until(h, clusterId, 'RUNNING');
    h.simulator.admin.resetStats();

    // Act
    const recovery = await recover(h, signal);

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'resolved_without_action' });
    expect(resolution(recovery.audit)).toMatchObject({ resolution: 'already_running' });
    expect(h.mutations()).toEqual({});
  });

  it("recovers the seed's Test 1 once, and restarts nothing when it is replayed", async () => {
    // Prepare
    const clusterId = '0201-000007-replay01';
    const signal = await signalOf(h, clusterId);
    const first = await recover(h, signal);
    expect(first.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
    h.simulator.admin.resetStats();

    // Act: the same delivery again, and a late one the de-duplication cannot tie to the first.
    const duplicate = await h.handle(signal);
    const late = await recover(h, { ...signal, incidentKey: `${signal.incidentKey}#late` });

    // Assess
    expect(duplicate.status).toBe('duplicate');
    expect(late.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'resolved_without_action' });
    expect(resolution(late.audit)).toMatchObject({ resolution: 'already_running' });
    expect(h.mutations()).toEqual({});
  });

  it("escalates with the diff instead of rolling back an admin's security edit", async () => {
    // Prepare: an admin changes the access mode; the next start fails on a configuration error.
    const clusterId = '0201-000008-secedit1';
    h.simulator.admin.userEdit(clusterId, {
      user: 'admin@example.com',
      attributes: { data_security_mode: 'USER_ISOLATION', single_user_name: null },
    });
    h.simulator.admin.setFaults({
      failNextStarts: {
        count: 1,
        clusterIds: [clusterId],
        reason: { code: 'INVALID_ARGUMENT', type: 'CLIENT_ERROR' },
      },
    });
    h.simulator.admin.userStart(clusterId, { user: 'admin@example.com' });
    await until(h, clusterId, 'TERMINATED');
    h.simulator.admin.resetStats();

    // Act
    const recovery = await h.recoverCluster(clusterId);

    // Assess
    expect(recovery.outcome.classification.action).toBe('rollback_config');
    expect(recovery.ticket).toMatchObject({ status: 'escalated' });
    expect(recovery.ticket.escalationReason).toMatch(/changed identity or security settings/);
    const escalated = recovery.audit.find((entry) => entry.event === 'escalated')?.details;
    expect(escalated?.evidence).toMatchObject({
      edit_diff: expect.arrayContaining([
        { field: 'data_security_mode', before: 'SINGLE_USER', after: 'USER_ISOLATION' },
      ]),
    });
    expect(h.mutations()).toEqual({});
  });

  it('repairs a failed run on an all-purpose cluster once the cluster is healthy again', async () => {
    // Prepare
    const clusterId = '0201-000009-jobhost1';
    const signal = {
      ...(await signalOf(h, clusterId)),
      source: 'job_notification' as const,
      job: { jobId: '9100', runId: '91000001', terminationCode: 'CLUSTER_ERROR' },
    };

    // Act
    const recovery = await recover(h, signal);

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
    expect(h.mutations()).toEqual({
      'POST /api/2.1/clusters/start': 1,
      'POST /api/2.2/jobs/runs/repair': 1,
    });
    const run = await h.direct.getRun('91000001');
    expect(run.state).toMatchObject({ result_state: 'SUCCESS' });
    const primitives = recovery.audit
      .filter((entry) => entry.event === 'remediation_started')
      .map((entry) => entry.details?.primitive);
    expect(primitives).toEqual(['start', 'repair']);
  });

  it('never repairs a configuration-class job failure blindly', async () => {
    // Act
    const recovery = await h.recoverWith({
      jobId: '9200',
      runId: '92000001',
      errorType: 'DatabricksJobFailure',
      action: 'repair_run',
      signal: {
        job: { jobId: '9200', runId: '92000001', terminationCode: 'INVALID_CLUSTER_REQUEST' },
      },
    });

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'escalated' });
    expect(recovery.ticket.escalationReason).toMatch(/configuration-class failure \(INVALID_CLUSTER_REQUEST/);
    expect(h.mutations()).toEqual({});
  });

  it('records a fallback Databricks refuses (a node type it no longer offers) as refused, never as made, and tries the next one', async () => {
    // Prepare: the cluster's policy allows r5.4xlarge, but Databricks answers its update with a 400.
    const clusterId = '0201-000012-policy01';
    h.before('updateCluster', ({ args }) => {
      const request = args[0] as { cluster: { node_type_id?: string } };
      if (request.cluster.node_type_id === 'r5.4xlarge') {
        throw new DatabricksApiError({
          status: 400,
          errorCode: 'INVALID_PARAMETER_VALUE',
          message: 'Node type r5.4xlarge is not supported in this workspace',
          operation: 'POST /api/2.1/clusters/update',
        });
      }
    });

    // Act
    const recovery = await h.recoverWith({
      clusterId,
      errorType: 'DatabricksResourceExhausted',
      action: 'restart_with_different_instance_type',
      playbook: { fallback_node_types: ['r5.4xlarge', 'm5.4xlarge'] },
    });

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered_restore_pending' });
    expect(recovery.audit.find((entry) => entry.event === 'config_change_refused')?.details).toMatchObject({
      values: { node_type_id: 'r5.4xlarge' },
      errorCode: 'INVALID_PARAMETER_VALUE',
    });
    const made = recovery.audit.filter((entry) => entry.event === 'remediation_started');
    expect(made.map((entry) => entry.details?.changes)).toEqual([
      { node_type_id: 'm5.4xlarge', driver_node_type_id: 'm5.4xlarge' },
    ]);
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/update': 1, 'POST /api/2.1/clusters/start': 1 });
    expect(await h.cluster(clusterId)).toMatchObject({ state: 'RUNNING', node_type_id: 'm5.4xlarge' });
  });

  it('counts a driver that stops responding and recovers by itself after the start as healthy (a GC pause)', async () => {
    // Prepare: the first health check finds a DRIVER_NOT_RESPONDING already answered by a DRIVER_HEALTHY.
    const clusterId = '0201-000013-gcpause1';
    h.before('listClusterEvents', async ({ count }) => {
      if (count !== 1) return;
      h.simulator.admin.loadScenario({ timings: { driverRecoveryMs: 1000 }, clusters: [] });
      try {
        h.simulator.admin.crashDriver(clusterId);
      } finally {
        h.simulator.admin.loadScenario({ timings: { driverRecoveryMs: 86_400_000 }, clusters: [] });
      }
      await sleep(20);
    });

    // Act
    const recovery = await recover(h, await signalOf(h, clusterId));

    // Assess
    expect(recovery.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered', attempts: 1 });
    expect(h.mutations()).toEqual({ 'POST /api/2.1/clusters/start': 1 });
    expect(recovery.audit.map((entry) => entry.event)).not.toContain('attempt_failed');
  });
});
