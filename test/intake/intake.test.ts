import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterScope } from '../../functions/core/breaker.ts';
import { breakerKey } from '../../functions/store/breakers.ts';
import { lambdaContext, toApiGatewayEvent } from '../../lib/local/api-gateway.ts';
import { useHarmLedger } from '../support/harms.ts';
import {
  createIntakeHarness,
  DATABRICKS_WORKSPACE_ID,
  fixture,
  type IntakeHarness,
  withDigitIds,
} from '../support/intake-harness.ts';

describe('intake: POST /databricks-monitor', () => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await createIntakeHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  useHarmLedger(() => h?.simulator);

  it("answers the seed's Test 1 with the seed's error type and action and starts one recovery", async () => {
    // Act
    const res = await h.post(fixture('seed/test1-driver-unreachable.json'));

    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.body).toEqual({
      status: 'success',
      ticket_id: expect.stringMatching(/^RCA-\d{8}-\d{8}$/),
      error_type: 'DatabricksDriverNotResponding',
      recovery_status: 'in_progress',
      actions_taken: ['restart_cluster'],
      message: 'Cluster restart initiated',
    });
    const start = h.workflow.starts.find((s) => s.name === res.body.ticket_id);
    expect(start?.input).toMatchObject({ clusterId: 'test-cluster-123', action: 'restart_cluster' });
    // Enriched from clusters/get: anchored on the cluster's terminated_time like the poller would be.
    expect(start?.input.signal.incidentKey).toBe('default#cluster#test-cluster-123#terminated#1764300000000');
  });

  it("answers the seed's Test 2 as resource exhaustion with a different instance type", async () => {
    // Act
    const res = await h.post(fixture('seed/test2-insufficient-capacity.json'));

    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatchObject({
      status: 'success',
      error_type: 'DatabricksResourceExhausted',
      actions_taken: ['restart_with_different_instance_type'],
    });
    // The seed's alias code means the same error type as the cluster's real code: same incident as the poller's.
    const start = h.workflow.starts.find((s) => s.name === res.body.ticket_id);
    expect(start?.input.signal.incidentKey).toBe('default#cluster#test-cluster-456#terminated#1764300100000');
  });

  it("takes the cluster's own termination reason for an event that sends none", async () => {
    // Act
    const res = await h.post({
      event: 'cluster.failed_to_start',
      cluster: { cluster_id: '0303-030303-nocode01' },
    });

    // Assess
    expect(res.body).toMatchObject({ status: 'success', error_type: 'DatabricksClusterStartFailure' });
    const ticket = await h.tickets.getTicket(String(res.body.ticket_id));
    expect(ticket?.ticket.incidentKey).toBe('default#cluster#0303-030303-nocode01#terminated#1764300400000');
  });

  it('answers the connectivity test with a 2xx and creates nothing', async () => {
    // Prepare
    const before = await h.items();

    // Act
    const res = await h.post(fixture('seed/connectivity-test.json'));

    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatchObject({ status: 'ignored', ticket_id: null });
    expect(await h.items()).toEqual(before);
  });

  it.each([
    [
      'a SUCCESS-type termination',
      {
        event: 'cluster.terminated',
        cluster: {
          cluster_id: '0101-010101-healthy1',
          termination_reason: { code: 'USER_REQUEST', type: 'SUCCESS' },
        },
      },
    ],
    [
      'an inactivity termination',
      {
        event: 'cluster.terminated',
        cluster: {
          cluster_id: '0101-010101-healthy1',
          termination_reason: { code: 'INACTIVITY', type: 'SUCCESS' },
        },
      },
    ],
    [
      'jobs.on_start',
      withDigitIds(fixture('databricks/examples/job-webhook-notification-job-on-start.json')),
    ],
    [
      'jobs.on_success',
      withDigitIds(fixture('databricks/examples/job-webhook-notification-task-on-success.json')),
    ],
  ])('ignores %s with the reason and creates nothing', async (_name, payload) => {
    // Prepare
    const before = await h.items();
    const body = { ...(payload as Record<string, unknown>) };
    delete body.workspace_id;

    // Act
    const res = await h.post(body);

    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.body.status).toBe('ignored');
    expect(String(res.body.message).length).toBeGreaterThan(5);
    expect(await h.items()).toEqual(before);
  });

  it('tickets a job failure caused by its cluster as that cluster failure (Method 1)', async () => {
    // Act
    const res = await h.post({
      event_type: 'jobs.on_failure',
      run: { run_id: 455644833 },
      job: { job_id: 11223344, name: 'orders-nightly' },
    });

    // Assess
    expect(res.body).toMatchObject({
      status: 'success',
      error_type: 'DatabricksClusterTerminated',
      actions_taken: ['restart_cluster'],
    });
    const ticket = await h.tickets.getTicket(String(res.body.ticket_id));
    expect(ticket?.ticket).toMatchObject({
      clusterId: '0923-164208-meows279',
      jobId: '11223344',
      runId: '455644833',
      terminationCode: 'CLOUD_PROVIDER_SHUTDOWN',
      source: 'job_notification',
    });
  });

  it("maps Databricks' numeric workspace id of a real notification to the configured workspace", async () => {
    // Act
    const res = await h.post({
      event_type: 'jobs.on_failure',
      workspace_id: DATABRICKS_WORKSPACE_ID,
      run: { run_id: 777000222 },
      job: { job_id: 5550001 },
    });

    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.body.status).toBe('ignored');
  });

  it('tickets a code failure on a healthy cluster as a job failure and escalates it', async () => {
    // Act
    const res = await h.post({
      event_type: 'jobs.on_failure',
      run: { run_id: '777000111' },
      job: { job_id: '5550001' },
    });

    // Assess
    expect(res.body).toMatchObject({
      status: 'escalated',
      error_type: 'DatabricksJobFailure',
      actions_taken: [],
    });
    const ticket = await h.tickets.getTicket(String(res.body.ticket_id));
    expect(ticket?.ticket).toMatchObject({ status: 'escalated', runId: '777000111', jobId: '5550001' });
  });

  it('ignores a failure notification whose run did not fail', async () => {
    // Act
    const res = await h.post({
      event_type: 'jobs.on_failure',
      run: { run_id: 777000222 },
      job: { job_id: 5550001 },
    });

    // Assess
    expect(res.body.status).toBe('ignored');
  });

  it('answers 422 naming a run that does not exist', async () => {
    // Act
    const res = await h.post({ event_type: 'jobs.on_failure', run: { run_id: 999999 }, job: { job_id: 1 } });

    // Assess
    expect(res.statusCode).toBe(422);
    expect(res.body.message).toContain('run 999999 does not exist');
  });

  it('escalates an init script failure without starting anything', async () => {
    // Prepare
    const starts = h.workflow.starts.length;

    // Act
    const res = await h.post({
      event: 'cluster.failed_to_start',
      cluster: {
        cluster_id: '0202-020202-initscr1',
        termination_reason: { code: 'INIT_SCRIPT_FAILURE', type: 'CLIENT_ERROR' },
      },
    });

    // Assess
    expect(res.body).toMatchObject({
      status: 'escalated',
      error_type: 'DatabricksInitScriptFailure',
      recovery_status: 'not_applicable',
    });
    expect(h.workflow.starts.length).toBe(starts);
  });

  it('escalates instead of recovering when the cluster breaker is open, and says so', async () => {
    // Prepare
    await h.breakers.forceOpen(clusterScope('default', 'maint-cluster-1'), 'maintenance window');
    const starts = h.workflow.starts.length;

    // Act
    const res = await h.post({
      event: 'cluster.terminated',
      cluster: {
        cluster_id: 'maint-cluster-1',
        termination_reason: { code: 'COMMUNICATION_LOST', type: 'SERVICE_FAULT' },
      },
    });

    // Assess
    expect(res.body).toMatchObject({ status: 'escalated', recovery_status: 'blocked', actions_taken: [] });
    expect(res.body.message).toContain('Circuit breaker open for cluster#default#maint-cluster-1');
    expect(h.workflow.starts.length).toBe(starts);
    const ticket = await h.tickets.getTicket(String(res.body.ticket_id));
    expect(ticket?.ticket.status).toBe('escalated');
    expect(ticket?.audit.map((a) => a.event)).toEqual(['ticket_opened', 'recovery_blocked']);
  });

  it('answers 503, not 500, and starts nothing when a stored breaker it must read is corrupt', async () => {
    // Prepare
    const scope = clusterScope('default', 'corrupt-breaker-1');
    await h.breakers.forceOpen(scope, 'maintenance window');
    await h.table.documentClient.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: breakerKey(scope),
        UpdateExpression: 'SET #failures = :none',
        ExpressionAttributeNames: { '#failures': 'recentFailures' },
        ExpressionAttributeValues: { ':none': 'none' },
      }),
    );
    const starts = h.workflow.starts.length;

    // Act
    const res = await h.post({
      event: 'cluster.terminated',
      cluster: {
        cluster_id: 'corrupt-breaker-1',
        termination_reason: { code: 'COMMUNICATION_LOST', type: 'SERVICE_FAULT' },
      },
    });

    // Assess
    expect(res.statusCode).toBe(503);
    expect(res.body).toEqual({
      status: 'error',
      message: 'a stored record cannot be read; deliver again after it is repaired',
    });
    expect(h.workflow.starts.length).toBe(starts);
  });

  it('answers 503 and leaves the ticket start_pending for the reconciler when StartExecution fails', async () => {
    // Prepare
    h.workflow.failNext = 1;

    // Act
    const res = await h.post({
      event: 'cluster.terminated',
      cluster: {
        cluster_id: 'sfn-down-1',
        termination_reason: { code: 'DRIVER_UNHEALTHY', type: 'SERVICE_FAULT' },
      },
    });

    // Assess
    expect(res.statusCode).toBe(503);
    expect(res.body).toMatchObject({ status: 'error', recovery_status: 'start_pending' });
    const pending = await h.tickets.listStartPending();
    expect(pending.tickets.map((t) => t.ticketId)).toContain(res.body.ticket_id);
  });

  it('routes a path workspace and rejects an unknown one naming it', async () => {
    // Act
    const ok = await h.post(fixture('seed/connectivity-test.json'), {}, '/databricks-monitor/default');
    const unknown = await h.post(
      { event: 'cluster.terminated', cluster: { cluster_id: 'a' } },
      {},
      '/databricks-monitor/other-ws',
    );

    // Assess
    expect(ok.statusCode).toBe(200);
    expect(unknown.statusCode).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain("'other-ws' in the path is not configured");
  });
});

describe('intake: events API Gateway never sends', () => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await createIntakeHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  useHarmLedger(() => h?.simulator);

  it.each([
    ['no headers at all', { headers: null }, 401],
    ['no resource', { resource: undefined }, 405],
  ])('answers an event with %s with a 4xx, not a crash', async (_name, change, statusCode) => {
    // Prepare
    const event = {
      ...toApiGatewayEvent({
        method: 'POST',
        path: '/databricks-monitor',
        headers: { 'content-type': 'application/json', 'x-api-key': h.keys.current },
        body: '{"event":"test"}',
      }),
      ...change,
    };

    // Act
    const res = (await h.handler(event as never, lambdaContext('intake'))) as { statusCode: number };

    // Assess
    expect(res.statusCode).toBe(statusCode);
  });
});

describe('intake: tickets are written, never read, by the webhook', () => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await createIntakeHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  useHarmLedger(() => h?.simulator);

  it('writes the ticket and its first audit entry, and leaves the start to the workflow', async () => {
    // Prepare
    const created = await h.post(fixture('seed/test1-driver-unreachable.json'));

    // Act
    const found = await h.tickets.getTicket(String(created.body.ticket_id));

    // Assess
    // The workflow moves the ticket to in_progress when it takes over; the intake writes nothing after the start.
    expect(found?.ticket).toMatchObject({
      ticketId: created.body.ticket_id,
      status: 'open',
      recoveryStatus: 'start_pending',
    });
    expect(found?.audit.map((a) => a.event)).toEqual(['ticket_opened']);
    expect(found?.occurrences).toEqual({ count: 0 });
  });

  it.each([
    { credential: 'the webhook key', withKey: true, statusCode: 405 },
    { credential: 'no credential', withKey: false, statusCode: 401 },
  ])(
    'answers a ticket read with $credential with $statusCode and no ticket',
    async ({ withKey, statusCode }) => {
      // Prepare
      const created = await h.post(fixture('seed/test2-insufficient-capacity.json'));

      // Act
      const res = await h.send({
        method: 'GET',
        path: `/tickets/${created.body.ticket_id}`,
        headers: withKey ? { 'x-api-key': h.keys.current } : {},
      });

      // Assess
      expect(res.statusCode).toBe(statusCode);
      expect(JSON.stringify(res.body)).not.toContain('ticketId');
    },
  );
});

describe('intake: AUTO_REMEDIATION_ENABLED=false', () => {
  let h: IntakeHarness;
  beforeAll(async () => {
    h = await createIntakeHarness({ autoRemediationEnabled: false });
  });
  afterAll(async () => {
    await h.close();
  });
  useHarmLedger(() => h?.simulator);

  it('tickets the failure and starts nothing', async () => {
    // Act
    const res = await h.post(fixture('seed/test1-driver-unreachable.json'));

    // Assess
    expect(res.body).toMatchObject({ status: 'success', recovery_status: 'disabled', actions_taken: [] });
    expect(h.workflow.starts).toHaveLength(0);
    const ticket = await h.tickets.getTicket(String(res.body.ticket_id));
    expect(ticket?.ticket).toMatchObject({ status: 'open', recoveryStatus: 'disabled' });
  });
});
