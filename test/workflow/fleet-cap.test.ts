/**
 * The blast-radius cap through the real parts: the incident path takes slots in the ticket's own
 * write, the REAL ASL run by aws-local-stepfunctions gives them back in Close and Escalate and starts
 * the next queued ticket, the poller's real reconciler reclaims the slot of an execution that was
 * killed, all on DynamoDB Local and the Databricks simulator (whose request log is the judge).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QUEUED } from '../../functions/core/fleet.ts';
import { executionNameFor, type IncidentOutcome } from '../../functions/core/incident.ts';
import { signalFromCluster } from '../../functions/core/signal-builders.ts';
import type { Ticket } from '../../functions/core/ticket.ts';
import { buildReport } from '../../functions/ops/report.ts';
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
