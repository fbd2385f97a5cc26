import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IncidentDeps, openIncident } from '../../functions/core/incident.ts';
import { loadPlaybooks } from '../../functions/core/playbooks.ts';
import type { ClusterDetails } from '../../functions/core/schemas/databricks.ts';
import { INCIDENT_BUCKET_MS } from '../../functions/core/signal.ts';
import { signalFromCluster } from '../../functions/core/signal-builders.ts';
import { SilenceRepository } from '../../functions/store/silences.ts';
import { planClusterRemediation } from '../../functions/workflow/plan.ts';
import { createIntakeHarness, type IntakeHarness } from '../support/intake-harness.ts';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const TERMINATED_AT = 1_764_310_000_000;

/** A TERMINATED all-purpose cluster, and (optionally) a job whose failed run it explains. */
function failedCluster(
  clusterId: string,
  code = 'DRIVER_UNREACHABLE',
  type: 'CLIENT_ERROR' | 'SERVICE_FAULT' | 'CLOUD_FAILURE' = 'SERVICE_FAULT',
) {
  return {
    cluster_id: clusterId,
    cluster_name: clusterId,
    state: 'TERMINATED' as const,
    terminated_time: TERMINATED_AT,
    termination_reason: { code, type },
  };
}

function jobOn(clusterId: string, jobId: number, runId: number, code = 'CLUSTER_ERROR') {
  return {
    job_id: jobId,
    name: `job-${jobId}`,
    tasks: [{ task_key: 't', existing_cluster_id: clusterId }],
    runs: [
      {
        run_id: runId,
        result_state: 'FAILED' as const,
        termination_details: { code, type: 'CLIENT_ERROR' as const },
      },
    ],
  };
}

const eventFor = (clusterId: string, extra: Record<string, unknown> = {}) => ({
  event: 'cluster.terminated',
  cluster: {
    cluster_id: clusterId,
    termination_reason: { code: 'DRIVER_UNREACHABLE', type: 'CLIENT_ERROR' },
    ...extra,
  },
});

const jobNotification = (jobId: number, runId: number) => ({
  event_type: 'jobs.on_failure',
  run: { run_id: runId },
  job: { job_id: jobId },
});

describe('intake: one open incident per cluster, whatever the order, delay, source or shape', () => {
  let h: IntakeHarness;
  let fakeNow: number | undefined;
  let incident: IncidentDeps;

  /** Databricks REST on the simulator, as a recovery would call it. */
  async function databricks(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await fetch(`${h.simulator.url}/api/2.1/clusters/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.simulator.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  }

  /** What the recovery would do: start the cluster and let it come up. */
  async function recover(clusterId: string): Promise<void> {
    await databricks('start', { cluster_id: clusterId });
    h.simulator.admin.advance(15 * 60_000);
  }

  async function closeTicket(ticketId: string): Promise<void> {
    await h.tickets.transition(ticketId, {
      from: ['open', 'in_progress'],
      to: 'closed',
      patch: { recoveryStatus: 'recovered' },
      audit: { event: 'recovered', actor: 'workflow' },
    });
  }

  beforeAll(async () => {
    h = await createIntakeHarness({ clock: () => fakeNow ?? Date.now() });
    h.simulator.admin.loadScenario({
      clusters: [
        failedCluster('seq-1'),
        failedCluster('seq-2'),
        failedCluster('silenced-1'),
        failedCluster('replay-1'),
        failedCluster('replay-2'),
        failedCluster('job-first-1', 'COMMUNICATION_LOST'),
        failedCluster('event-first-1', 'COMMUNICATION_LOST'),
        failedCluster('poller-first-1'),
        { cluster_id: 'bucket-1', cluster_name: 'bucket-1', state: 'RUNNING' as const },
        { cluster_id: 'user-code-1', cluster_name: 'user-code-1', state: 'RUNNING' as const },
      ],
      jobs: [
        jobOn('job-first-1', 9101, 91010),
        jobOn('event-first-1', 9102, 91020),
        jobOn('user-code-1', 9103, 91030, 'RUN_EXECUTION_ERROR'),
      ],
    });
    incident = {
      tickets: h.tickets,
      breakers: h.breakers,
      workflow: h.workflow,
      playbooks: loadPlaybooks({}),
      autoRemediationEnabled: true,
      logger: quiet,
      actor: 'poller',
    };
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers a sequential duplicate with the same ticket in one AWS call, and one transaction opens the ticket', async () => {
    // Prepare
    h.awsCalls.take();
    const starts = h.workflow.starts.length;

    // Act
    const first = await h.post(eventFor('seq-1'));
    const openCalls = h.awsCalls.take();
    const again = await h.post(eventFor('seq-1'));
    const duplicateCalls = h.awsCalls.take();
    const withWorkspace = await h.post({ ...eventFor('seq-1'), workspace_id: '1234567890123456' });
    const got = { body: await h.tickets.getTicket(String(first.body.ticket_id)) } as unknown as {
      body: Record<string, unknown>;
    };

    // Assess
    expect(first.body.status).toBe('success');
    expect(again.body).toMatchObject({ status: 'duplicate', ticket_id: first.body.ticket_id });
    expect(withWorkspace.body).toMatchObject({ status: 'duplicate', ticket_id: first.body.ticket_id });
    // One TransactWriteItems opens the ticket and checks the silence markers (StartExecution is the
    // second AWS call): no silences Query, no ticket read, no counter.
    expect(openCalls).toEqual(['TransactWriteItemsCommand']);
    // A duplicate: the cancelled transaction names the ticket and shows the webhook already told it
    // about this incident, so nothing more is written.
    expect(duplicateCalls).toEqual(['TransactWriteItemsCommand']);
    expect(h.workflow.starts.length).toBe(starts + 1);
    expect(got.body.occurrences).toMatchObject({ count: 0 });
    const events = (got.body.audit as { event: string }[]).map((a) => a.event);
    expect(events).not.toContain('occurrence');
  });

  it('reads the silences only for a failure a silence covers, and holds its ticket naming the silence', async () => {
    // Prepare
    const silences = new SilenceRepository({ client: h.table.documentClient, tableName: h.table.tableName });
    const silence = await silences.add({
      clusterId: 'silenced-1',
      until: Date.now() + 3_600_000,
      reason: 'maintenance',
      createdBy: 'test',
    });
    h.awsCalls.take();
    const starts = h.workflow.starts.length;

    // Act
    const held = await h.post(eventFor('silenced-1'));
    const heldCalls = h.awsCalls.take();
    const elsewhere = await h.post(eventFor('seq-2'));
    const elsewhereCalls = h.awsCalls.take();

    // Assess
    expect(held.body).toMatchObject({ status: 'success', recovery_status: 'silenced', actions_taken: [] });
    expect(String(held.body.message)).toContain(silence.silenceId);
    expect((await h.tickets.getTicket(String(held.body.ticket_id)))?.ticket).toMatchObject({
      status: 'silenced',
      silenceId: silence.silenceId,
    });
    // The write the silence marker cancels, the silences Query that names the silence, the held ticket.
    expect(heldCalls).toEqual(['TransactWriteItemsCommand', 'QueryCommand', 'TransactWriteItemsCommand']);
    expect(elsewhere.body.status).toBe('success');
    expect(elsewhereCalls).toEqual(['TransactWriteItemsCommand']);
    expect(h.workflow.starts.length).toBe(starts + 1);
  });

  it('keeps one ticket across a 15-minute bucket boundary when Databricks gives no anchor', async () => {
    // Prepare
    const boundary = (Math.floor(Date.now() / INCIDENT_BUCKET_MS) + 1) * INCIDENT_BUCKET_MS;
    fakeNow = boundary - 1000;
    const before = await h.post(eventFor('bucket-1'));
    fakeNow = boundary + 1000;

    // Act
    const after = await h.post(eventFor('bucket-1'));
    fakeNow = undefined;

    // Assess
    expect(before.body.status).toBe('success');
    expect(after.body).toMatchObject({ status: 'duplicate', ticket_id: before.body.ticket_id });
  });

  it('answers a replay after close with the closed ticket and starts nothing', async () => {
    // Prepare
    const first = await h.post(eventFor('replay-1'));
    await recover('replay-1');
    const duringRecovery = await h.post(eventFor('replay-1'));
    await closeTicket(String(first.body.ticket_id));
    const starts = h.workflow.starts.length;

    // Act
    const replay = await h.post(eventFor('replay-1'));
    const replayWithTime = await h.post(eventFor('replay-1', { terminated_time: TERMINATED_AT }));

    // Assess
    expect(duringRecovery.body).toMatchObject({ status: 'duplicate', ticket_id: first.body.ticket_id });
    // The cluster runs again: the replay is anchored on its TERMINATING event, the ticket's alias.
    expect(replay.body).toMatchObject({
      status: 'duplicate',
      ticket_id: first.body.ticket_id,
      recovery_status: 'recovered',
    });
    expect(replayWithTime.body).toMatchObject({ status: 'duplicate', ticket_id: first.body.ticket_id });
    expect(h.workflow.starts.length).toBe(starts);
  });

  it('opens a new ticket for a replay after a poller ticket closed, whose recovery does not restart the healthy cluster', async () => {
    // Prepare
    const details = { ...failedCluster('replay-2'), cluster_source: 'UI' } as ClusterDetails;
    const polled = await openIncident(
      signalFromCluster(details, 'termination', 'poller', { workspaceId: 'default', now: Date.now() }),
      incident,
    );
    await recover('replay-2');
    await closeTicket(String(polled.ticket?.ticketId));

    // Act
    const replay = await h.post(eventFor('replay-2'));

    // Assess
    const second = h.workflow.starts.find((s) => s.name === replay.body.ticket_id);
    // Anchored on the TERMINATING event in clusters/events, never on a bucket.
    expect(second?.input.signal.incidentKey).toMatch(/^default#cluster#replay-2#terminating#\d+$/);
    const cluster = (await (
      await fetch(`${h.simulator.url}/api/2.1/clusters/get?cluster_id=replay-2`, {
        headers: { authorization: `Bearer ${h.simulator.token}` },
      })
    ).json()) as ClusterDetails;
    expect(cluster.state).toBe('RUNNING');
    const decision = planClusterRemediation({
      input: second?.input as never,
      state: { attempt: 1 },
      cluster,
      pollSeconds: 30,
    });
    expect(decision.kind).toBe('none');
  });

  it('joins a cluster event that follows a job notification, after the recovery started the cluster', async () => {
    // Prepare
    const viaJob = await h.post(jobNotification(9101, 91010));
    await recover('job-first-1');

    // Act
    const viaEvent = await h.post(eventFor('job-first-1'));

    // Assess
    expect(viaJob.body.status).toBe('success');
    expect(viaEvent.body).toMatchObject({ status: 'duplicate', ticket_id: viaJob.body.ticket_id });
  });

  it('joins a job notification that follows a cluster event, after the recovery started the cluster', async () => {
    // Prepare
    const viaEvent = await h.post(eventFor('event-first-1'));
    await recover('event-first-1');

    // Act
    h.awsCalls.take();
    const viaJob = await h.post(jobNotification(9102, 91020));
    const newsCalls = h.awsCalls.take();
    const viaJobAgain = await h.post(jobNotification(9102, 91020));
    const repeatCalls = h.awsCalls.take();

    // Assess
    expect(viaEvent.body.status).toBe('success');
    expect(viaJob.body).toMatchObject({ status: 'duplicate', ticket_id: viaEvent.body.ticket_id });
    expect(viaJobAgain.body).toMatchObject({ status: 'duplicate', ticket_id: viaEvent.body.ticket_id });
    // The first word from the job path is news: recorded once (and marked as seen in the same write);
    // its redelivery costs the cancelled transaction only.
    expect(newsCalls).toEqual(['TransactWriteItemsCommand', 'TransactWriteItemsCommand']);
    expect(repeatCalls).toEqual(['TransactWriteItemsCommand']);
    const ticket = await h.tickets.getTicket(String(viaEvent.body.ticket_id));
    expect(ticket?.occurrences).toMatchObject({ count: 1 });
    expect(ticket?.audit.filter((a) => a.event === 'occurrence').map((a) => a.details?.source)).toEqual([
      'job_notification',
    ]);
  });

  it('joins a webhook that follows the poller, before and after the recovery started the cluster', async () => {
    // Prepare
    const details = { ...failedCluster('poller-first-1'), cluster_source: 'UI' } as ClusterDetails;
    const polled = await openIncident(
      signalFromCluster(details, 'termination', 'poller', { workspaceId: 'default', now: Date.now() }),
      incident,
    );

    // Act
    const before = await h.post(eventFor('poller-first-1'));
    await recover('poller-first-1');
    const after = await h.post(eventFor('poller-first-1'));

    // Assess
    expect(polled.status).toBe('success');
    expect(before.body).toMatchObject({ status: 'duplicate', ticket_id: polled.ticket?.ticketId });
    expect(after.body).toMatchObject({ status: 'duplicate', ticket_id: polled.ticket?.ticketId });
  });

  it('keeps the run key of a job failure no cluster explains, without claiming the cluster', async () => {
    // Prepare
    const starts = h.workflow.starts.length;

    // Act
    const viaJob = await h.post(jobNotification(9103, 91030));
    h.simulator.admin.failCluster('user-code-1', { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' });
    h.simulator.admin.advance(5 * 60_000);
    const viaEvent = await h.post(eventFor('user-code-1'));

    // Assess
    const ticket = await h.tickets.getTicket(String(viaJob.body.ticket_id));
    expect(ticket?.ticket.incidentKey).toBe('default#run#91030');
    expect(viaEvent.body.status).toBe('success');
    expect(viaEvent.body.ticket_id).not.toBe(viaJob.body.ticket_id);
    expect(h.workflow.starts.length).toBeGreaterThan(starts);
  });

  it('refuses a cluster that does not exist with a 422 naming it, and writes nothing', async () => {
    // Prepare
    const before = await h.items();

    // Act
    const unknown = await h.post(eventFor('no-such-cluster-9'));

    // Assess
    expect(unknown.statusCode).toBe(422);
    expect(unknown.body.message).toContain('no-such-cluster-9');
    expect(await h.items()).toEqual(before);
  });
});
