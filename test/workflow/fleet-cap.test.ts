/**
 * The blast-radius cap through the real parts: the incident path takes slots in the ticket's own
 * write, the REAL ASL run by aws-local-stepfunctions gives them back in Close and Escalate and starts
 * the next queued ticket, the poller's real reconciler reclaims the slot of an execution that was
 * killed, all on DynamoDB Local and the Databricks simulator (whose request log is the judge).
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QUEUED } from '../../functions/core/fleet.ts';
import { executionNameFor, type IncidentOutcome } from '../../functions/core/incident.ts';
import { signalFromCluster } from '../../functions/core/signal-builders.ts';
import type { Ticket } from '../../functions/core/ticket.ts';
import { buildReport } from '../../functions/ops/report.ts';
import type { StartDeps } from '../../functions/poller/reconcile.ts';
import type { FaultsInput } from '../../lib/simulator/index.ts';
import { MUTATION, maxConcurrentRecoveries } from '../support/request-log.ts';
import { useWorkflowHarness, WORKSPACE, type WorkflowHarness } from './harness.ts';

const FLEET = JSON.parse(
  readFileSync(new URL('../fixtures/workflow/fleet-cap.json', import.meta.url), 'utf8'),
);
const FLEET_IDS: string[] = FLEET.clusters
  .map((c: { cluster_id: string }) => c.cluster_id)
  .filter((id: string) => id.includes('fleet'));

/** Opens the incident of a cluster as the poller does (the cluster as Databricks shows it now). */
async function fail(h: WorkflowHarness, clusterId: string): Promise<IncidentOutcome> {
  const cluster = await h.cluster(clusterId);
  return h.handle(
    signalFromCluster(cluster, 'termination', 'poller', { workspaceId: WORKSPACE, now: Date.now() }),
  );
}

/** Reads the tickets until every one is resolved (the executions run in the background). */
async function settled(h: WorkflowHarness, ids: readonly string[]): Promise<Ticket[]> {
  for (let i = 0; i < 600; i++) {
    const tickets = await Promise.all(ids.map(async (id) => (await h.tickets.getTicket(id))?.ticket));
    if (tickets.every((t) => t !== undefined && (t.status === 'closed' || t.status === 'escalated')))
      return tickets as Ticket[];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the recoveries did not settle in time');
}

describe('recovery workflow: the blast-radius cap (5 per workspace)', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((harness) => (h = harness), { cap: { default: 5 } });

  it('recovers 20 clusters that failed together with at most 5 changing at once, the others queued and started as slots free', async () => {
    // Prepare
    h.simulator.admin.loadScenario(FLEET);
    h.simulator.admin.resetStats();

    // Act: the 20 failures arrive at once.
    const outcomes = await Promise.all(FLEET_IDS.map((id) => fail(h, id)));
    const ids = outcomes.map((o) => o.ticket?.ticketId ?? '');
    const tickets = await settled(h, ids);
    // Close gives the slot back after it closed the ticket: wait for the executions themselves.
    await Promise.all(ids.map((id) => h.runner.wait(executionNameFor(id))));

    // Assess
    expect(outcomes.filter((o) => o.recoveryStatus === QUEUED).length).toBeGreaterThanOrEqual(10);
    expect(outcomes.filter((o) => o.recoveryStatus === 'in_progress').length).toBeLessThanOrEqual(5);
    expect(tickets.map((t) => `${t.status} ${t.recoveryStatus}`)).toEqual(ids.map(() => 'closed recovered'));
    const log = h.simulator.admin.requestLog();
    // At most the cap; more than one at once (how many overlap in the log depends on the machine's load).
    const concurrent = maxConcurrentRecoveries(log);
    expect(concurrent).toBeLessThanOrEqual(5);
    expect(concurrent).toBeGreaterThanOrEqual(2);
    expect(log.filter((r) => r.method === 'POST' && MUTATION.test(r.path)).length).toBe(20);
    const report = buildReport(tickets, [], { since: 0, until: Date.now() });
    expect(report.queued).toBeGreaterThanOrEqual(10);
    expect(report.avg_queued_seconds).toBeGreaterThan(0);
    const lease = await h.cap?.repository.get(WORKSPACE);
    expect(lease).toEqual({ workspaceId: WORKSPACE, active: 0, slots: [] });
  });
});

describe('recovery workflow: a slot of the cap (1 per workspace) whose execution was killed', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((harness) => (h = harness), { cap: { default: 1 } });

  it('is reclaimed by the reconciler from the execution status, and the queued ticket then recovers', async () => {
    // Prepare: a recovery holds the only slot and is killed while it waits for its cluster.
    h.simulator.admin.loadScenario(FLEET);
    const killed = await fail(h, '1130-000099-killed');
    const killedId = killed.ticket?.ticketId ?? '';
    const execution = h.runner.execution(executionNameFor(killedId));
    for (let i = 0; i < 200 && !execution?.states.includes('WaitForCluster'); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    execution?.abort();
    await h.runner.wait(executionNameFor(killedId));
    const waiting = await fail(h, '1130-000099-waiting');
    const leaseBefore = await h.cap?.repository.get(WORKSPACE);

    // Act
    const report = await h.reconcile();
    const [killedTicket, waitingTicket] = await settled(h, [killedId, waiting.ticket?.ticketId ?? '']);
    // Close gives the slot back after the ticket closed: the execution's end is when the lease is free.
    await h.runner.wait(executionNameFor(waiting.ticket?.ticketId ?? ''));

    // Assess
    expect(killed.recoveryStatus).toBe('in_progress');
    expect(waiting.recoveryStatus).toBe(QUEUED);
    expect(leaseBefore?.slots.map((s) => s.ticketId)).toEqual([killedId]);
    expect(report).toMatchObject({ slotsReclaimed: 1, dequeued: 1 });
    expect(killedTicket).toMatchObject({ status: 'escalated', recoveryStatus: 'aborted' });
    expect((await h.tickets.getTicket(killedId))?.audit.map((a) => a.event)).toContain('cap_slot_reclaimed');
    expect(waitingTicket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
    expect(await h.cap?.repository.get(WORKSPACE)).toEqual({ workspaceId: WORKSPACE, active: 0, slots: [] });
  });
});

/** Where in the simulator's request log a cluster was first changed, and last asked about. */
function span(log: readonly { method: string; path: string; clusterId?: string }[], clusterId: string) {
  const first = log.findIndex(
    (r) => r.clusterId === clusterId && r.method === 'POST' && MUTATION.test(r.path),
  );
  const last = log.findLastIndex((r) => r.clusterId === clusterId);
  return { first, last };
}

describe('recovery workflow: the queue drained by the Close or Escalate that frees a slot (cap 1)', () => {
  let h: WorkflowHarness;
  /** Makes the drain's start path fail, for the test that sets it. */
  let fault: ((deps: StartDeps) => StartDeps) | undefined;
  useWorkflowHarness((harness) => (h = harness), {
    cap: { default: 1 },
    drain: (deps) => fault?.(deps) ?? deps,
  });
  beforeAll(() => {
    // Each test fails clusters of its own.
    h.simulator.admin.loadScenario(FLEET);
  });
  afterEach(() => {
    fault = undefined;
  });

  /** Two failures at once: the first takes the only slot, the second waits queued. */
  async function twoFailures(first: string, second: string, faults?: FaultsInput) {
    if (faults !== undefined) h.simulator.admin.setFaults(faults);
    h.freedSlots.length = 0;
    h.metricCounts.clear();
    const running = await fail(h, first);
    const waiting = await fail(h, second);
    return {
      running,
      waiting,
      firstId: running.ticket?.ticketId ?? '',
      secondId: waiting.ticket?.ticketId ?? '',
    };
  }

  it.each([
    ['Close', 'closed recovered', undefined],
    [
      'Escalate',
      'escalated failed',
      {
        failNextStarts: {
          count: 20,
          clusterIds: ['1130-000003-fleet03'],
          reason: { code: 'DRIVER_UNREACHABLE', type: 'CLOUD_FAILURE' },
        },
      } satisfies FaultsInput,
    ],
  ])(
    'starts the queued ticket from the %s that gives the slot back, before any reconciler run',
    async (_step, firstOutcome, faults) => {
      // Prepare
      const first = faults === undefined ? '1130-000001-fleet01' : '1130-000003-fleet03';
      const second = faults === undefined ? '1130-000002-fleet02' : '1130-000004-fleet04';
      const { running, waiting, firstId, secondId } = await twoFailures(first, second, faults);

      // Act: nothing but the two executions runs; no reconciler.
      await h.runner.wait(executionNameFor(firstId));
      const [firstTicket, secondTicket] = await settled(h, [firstId, secondId]);
      await h.runner.wait(executionNameFor(secondId));

      // Assess
      expect(running.recoveryStatus).toBe('in_progress');
      expect(waiting.recoveryStatus).toBe(QUEUED);
      expect(`${firstTicket?.status} ${firstTicket?.recoveryStatus}`).toBe(firstOutcome);
      expect(secondTicket).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
      expect(h.metricCounts.has('ReconciledStarts')).toBe(false);
      expect(h.freedSlots[0]).toEqual({ workspaceId: WORKSPACE, stateMachineArn: h.runner.stateMachineArn });
      const audit = (await h.tickets.getTicket(secondId))?.audit ?? [];
      const dequeued = audit.find((a) => a.event === 'recovery_dequeued');
      expect(dequeued?.actor).toBe('workflow');
      expect(Date.parse(dequeued?.at ?? '')).toBeGreaterThanOrEqual(
        Date.parse(firstTicket?.resolvedAt ?? ''),
      );
      const log = h.simulator.admin.requestLog();
      expect(span(log, second).first).toBeGreaterThan(span(log, first).last);
      expect(await h.cap?.repository.get(WORKSPACE)).toEqual({
        workspaceId: WORKSPACE,
        active: 0,
        slots: [],
      });
    },
  );

  it.each([
    [
      'reading the queue fails',
      (deps: StartDeps): StartDeps => ({
        ...deps,
        tickets: Object.assign(Object.create(deps.tickets), {
          listMarked: async () => {
            throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
              name: 'ProvisionedThroughputExceededException',
            });
          },
        }),
      }),
      QUEUED,
      'QueueDrainFailures',
      ['1130-000005-fleet05', '1130-000006-fleet06'],
    ],
    [
      'StartExecution fails',
      (deps: StartDeps): StartDeps => ({
        ...deps,
        workflow: {
          start: async () => {
            throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
          },
        },
      }),
      'start_pending',
      'WorkflowStartFailures',
      ['1130-000007-fleet07', '1130-000008-fleet08'],
    ],
  ] as const)(
    'closes the finishing ticket all the same when %s, and leaves the queued ticket to the reconciler',
    async (_what, failure, waitingStatus, counted, clusters) => {
      // Prepare
      fault = failure;
      const { firstId, secondId } = await twoFailures(clusters[0], clusters[1]);

      // Act
      const finished = await h.runner.wait(executionNameFor(firstId));
      const waitingBefore = (await h.tickets.getTicket(secondId))?.ticket;
      fault = undefined;
      const report = await h.reconcile();
      const [, recovered] = await settled(h, [firstId, secondId]);
      await h.runner.wait(executionNameFor(secondId));

      // Assess
      expect(finished).toMatchObject({
        status: 'SUCCEEDED',
        output: { status: 'closed', outcome: 'recovered' },
      });
      expect((await h.tickets.getTicket(firstId))?.ticket).toMatchObject({ status: 'closed' });
      expect(waitingBefore).toMatchObject({ status: 'open', recoveryStatus: waitingStatus });
      expect(h.metricCounts.get(counted)).toBe(1);
      expect(report.started + report.dequeued).toBeGreaterThanOrEqual(1);
      expect(recovered).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
      expect(await h.cap?.repository.get(WORKSPACE)).toEqual({
        workspaceId: WORKSPACE,
        active: 0,
        slots: [],
      });
    },
  );
});
