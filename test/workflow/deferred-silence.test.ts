/**
 * A silence that comes into force while a recovery waits holds it when it would start, whichever way
 * it waited: `queued` for a slot of the blast-radius cap, or held by its outage and then released.
 * Both reach the reconciler's deferred start through the queue's drain (`drainQueue` → `reconcileStart`),
 * here run for real: the REAL ASL on aws-local-stepfunctions gives the slot back in Close, an operator
 * resolves the outage, all on DynamoDB Local and the Databricks simulator (whose request log is the judge).
 * The start_pending case is in test/poller/reconcile.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QUEUED } from '../../functions/core/fleet.ts';
import { executionNameFor } from '../../functions/core/incident.ts';
import { HELD_BY_OUTAGE } from '../../functions/core/outage.ts';
import { releaseOutage } from '../../functions/poller/outage.ts';
import { MUTATION } from '../support/request-log.ts';
import { useWorkflowHarness, WORKSPACE, type WorkflowHarness } from './harness.ts';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/workflow/${name}`, import.meta.url), 'utf8'));
const FLEET = fixture('fleet-cap.json');
const OUTAGE = fixture('outage.json');
/** The capacity playbook starts the cluster again as it was (no fallback node types configured here). */
const PLAYBOOKS = { DatabricksResourceExhausted: { action: 'restart_cluster' } };
const HOUR = 3_600_000;

/** Silences one cluster for an hour, as `rca silence add` does. */
async function silence(h: WorkflowHarness, clusterId: string): Promise<void> {
  await h.silences?.add({
    clusterId,
    until: Date.now() + HOUR,
    reason: 'vendor is patching this cluster',
    createdBy: 'on-call',
  });
}

/** The changes the simulator received for one cluster. */
function mutationsOf(h: WorkflowHarness, clusterId: string): string[] {
  return h.simulator.admin
    .requestLog()
    .filter((r) => r.method === 'POST' && MUTATION.test(r.path) && r.clusterId === clusterId)
    .map((r) => r.path);
}

/** The ticket as stored, with the events of its audit trail. */
async function stored(h: WorkflowHarness, ticketId: string) {
  const found = await h.tickets.getTicket(ticketId);
  return { ...found?.ticket, events: found?.audit.map((entry) => entry.event) ?? [] };
}

describe('a recovery queued by the blast-radius cap (1 per workspace) whose cluster is silenced meanwhile', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((harness) => (h = harness), { cap: { default: 1 }, silences: true });

  it('is escalated when the freed slot would start it, and its cluster is left alone', async () => {
    // Prepare: the only slot goes to a recovery whose start waits; the second failure is queued, then
    // an operator silences its cluster.
    h.simulator.admin.loadScenario(FLEET);
    let letGo: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    h.before('startCluster', async () => {
      await gate;
    });
    const running = await h.failCluster('1130-000099-killed');
    const queued = await h.failCluster('1130-000099-waiting');
    await silence(h, '1130-000099-waiting');
    const runningId = running.ticket?.ticketId ?? '';
    const queuedId = queued.ticket?.ticketId ?? '';

    // Act: the running recovery closes and gives its slot back; the queue is drained into it, and the
    // reconciler runs once more.
    letGo();
    await h.runner.wait(executionNameFor(runningId));
    await h.reconcile();

    // Assess
    expect([running.recoveryStatus, queued.recoveryStatus]).toEqual(['in_progress', QUEUED]);
    expect(await stored(h, runningId)).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
    expect(await stored(h, queuedId)).toMatchObject({
      status: 'escalated',
      recoveryStatus: 'silenced_while_waiting',
      escalationReason: expect.stringContaining('cluster 1130-000099-waiting'),
      events: ['ticket_opened', 'recovery_dequeued', 'escalated'],
    });
    expect(h.runner.execution(executionNameFor(queuedId))).toBeUndefined();
    expect(mutationsOf(h, '1130-000099-waiting')).toEqual([]);
    expect(await h.cap?.repository.get(WORKSPACE)).toEqual({ workspaceId: WORKSPACE, active: 0, slots: [] });
  });
});

describe('a recovery held by an outage whose cluster is silenced before the outage is released', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((harness) => (h = harness), { cap: { default: 5 }, outages: {}, silences: true });

  it('is escalated when its release would start it, while the other released child recovers', async () => {
    // Prepare: a capacity outage is open (its opener never ticketed), two failures of the class join it
    // held, and an operator silences the second one's cluster.
    h.simulator.admin.loadScenario(OUTAGE);
    let opened: Awaited<ReturnType<NonNullable<WorkflowHarness['outages']>['correlate']>> | undefined;
    for (const ghost of ['ghost1', 'ghost2', 'ghost3', 'ghost4', 'ghost5'])
      opened = await h.outages?.correlate(WORKSPACE, 'capacity', { clusterId: ghost, at: Date.now() });
    const [free, silenced] = ['1130-000001-capa01', '1130-000002-capa02'];
    const held = [
      await h.failCluster(free as string, PLAYBOOKS),
      await h.failCluster(silenced as string, PLAYBOOKS),
    ];
    await silence(h, silenced as string);
    const outage = await h.outages?.get(opened?.kind === 'opened' ? opened.outage.outageId : '');
    const [freeId, silencedId] = held.map((o) => o.ticket?.ticketId ?? '');

    // Act: an operator resolves the outage; its children go to the queue, which is drained at once.
    if (outage === undefined) throw new Error('no outage was opened');
    await releaseOutage(outage, 'resolved', h.outageDeps(), { resolvedBy: 'operator@example.com' });
    await h.runner.wait(executionNameFor(freeId ?? ''));
    await h.reconcile(PLAYBOOKS);

    // Assess
    expect(held.map((o) => o.recoveryStatus)).toEqual([HELD_BY_OUTAGE, HELD_BY_OUTAGE]);
    expect(await stored(h, freeId ?? '')).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
    expect(await stored(h, silencedId ?? '')).toMatchObject({
      status: 'escalated',
      recoveryStatus: 'silenced_while_waiting',
      escalationReason: expect.stringContaining(`cluster ${silenced}`),
      events: ['ticket_opened', 'outage_released', 'recovery_dequeued', 'escalated'],
    });
    expect(h.runner.execution(executionNameFor(silencedId ?? ''))).toBeUndefined();
    expect(mutationsOf(h, silenced as string)).toEqual([]);
    expect(mutationsOf(h, free as string)).toEqual(['/api/2.1/clusters/start']);
    expect(await h.cap?.repository.get(WORKSPACE)).toEqual({ workspaceId: WORKSPACE, active: 0, slots: [] });
  });
});
