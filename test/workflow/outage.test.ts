/**
 * Outage correlation through the real parts: the incident path counts failures in DynamoDB Local and
 * holds the children of an outage, the REAL ASL run by aws-local-stepfunctions recovers the probe and
 * its Close or Escalate settles the outage, the released children go through the blast-radius cap,
 * and the Databricks simulator's request log is the judge of what changed clusters and when.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QUEUED } from '../../functions/core/fleet.ts';
import { executionNameFor, type IncidentOutcome } from '../../functions/core/incident.ts';
import { HELD_BY_OUTAGE, OUTAGE_ESCALATED } from '../../functions/core/outage.ts';
import { signalFromCluster } from '../../functions/core/signal-builders.ts';
import type { Ticket } from '../../functions/core/ticket.ts';
import { reconcileOutages, releaseOutage } from '../../functions/poller/outage.ts';
import { MUTATION, maxConcurrentRecoveries } from '../support/request-log.ts';
import { useWorkflowHarness, WORKSPACE, type WorkflowHarness } from './harness.ts';

const SCENARIO = JSON.parse(
  readFileSync(new URL('../fixtures/workflow/outage.json', import.meta.url), 'utf8'),
);
const ids = (kind: string): string[] =>
  SCENARIO.clusters
    .map((c: { cluster_id: string }) => c.cluster_id)
    .filter((id: string) => id.includes(kind));
const CAPACITY = ids('capa');
const NETWORK = ids('netw');
const DRIVER = ids('drvr');
/** The capacity playbook starts the cluster again as it was (no fallback node types configured here). */
const PLAYBOOKS = { DatabricksResourceExhausted: { action: 'restart_cluster' } };

const loaded = new WeakSet<WorkflowHarness>();

/** The scenario, once per simulator (each test fails clusters of its own). */
function load(h: WorkflowHarness): void {
  if (loaded.has(h)) return;
  h.simulator.admin.loadScenario(SCENARIO);
  loaded.add(h);
}

/** Opens the incident of a cluster as the poller does (the cluster as Databricks shows it now). */
async function fail(h: WorkflowHarness, clusterId: string): Promise<IncidentOutcome> {
  const cluster = await h.cluster(clusterId);
  return h.handle(
    signalFromCluster(cluster, 'termination', 'poller', { workspaceId: WORKSPACE, now: Date.now() }),
    PLAYBOOKS,
  );
}

async function ticketsOf(h: WorkflowHarness, ticketIds: readonly string[]): Promise<Ticket[]> {
  return Promise.all(ticketIds.map(async (id) => (await h.tickets.getTicket(id))?.ticket as Ticket));
}

/** Reads the tickets until every one is resolved (the executions run in the background). */
async function settled(h: WorkflowHarness, ticketIds: readonly string[]): Promise<Ticket[]> {
  for (let i = 0; i < 900; i++) {
    const tickets = await ticketsOf(h, ticketIds);
    if (tickets.every((t) => t !== undefined && (t.status === 'closed' || t.status === 'escalated')))
      return tickets;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const left = (await ticketsOf(h, ticketIds)).map((t) => `${t?.ticketId} ${t?.status} ${t?.recoveryStatus}`);
  throw new Error(`the recoveries did not settle in time: ${left.join(', ')}`);
}

async function executionsEnded(h: WorkflowHarness, ticketIds: readonly string[]): Promise<void> {
  await Promise.all(
    ticketIds
      .filter((id) => h.runner.execution(executionNameFor(id)) !== undefined)
      .map((id) => h.runner.wait(executionNameFor(id))),
  );
}

/**
 * Counts capacity failures of clusters whose tickets never come (their process died): `count` ghosts
 * `ghost<from>`, `ghost<from + 1>`, …; the outage's id when the fifth opened one.
 */
async function ghosts(h: WorkflowHarness, from: number, count: number): Promise<string> {
  let opened: Awaited<ReturnType<NonNullable<WorkflowHarness['outages']>['correlate']>> | undefined;
  for (let i = from; i < from + count; i++)
    opened = await h.outages?.correlate(WORKSPACE, 'capacity', { clusterId: `ghost${i}`, at: Date.now() });
  return opened?.kind === 'opened' ? opened.outage.outageId : '';
}

/**
 * An outage of ghosts (`ghosts`) that holds the failures of `clusters`, the first of them named its
 * probe but still held (as if the run that named it ended): the outage's id and the held tickets.
 */
async function heldWithProbe(
  h: WorkflowHarness,
  from: number,
  clusters: readonly string[],
): Promise<{ outageId: string; held: IncidentOutcome[]; ticketIds: string[] }> {
  const outageId = await ghosts(h, from, 5);
  const held = [];
  for (const id of clusters) held.push(await fail(h, id));
  const ticketIds = held.map((o) => o.ticket?.ticketId ?? '');
  await h.outages?.claimProbe(outageId, ticketIds[0] ?? '');
  return { outageId, held, ticketIds };
}

/** Runs `before` when the next probe is claimed (then claims as asked); later claims go through. */
function onNextClaim(h: WorkflowHarness, before: (claim: () => Promise<boolean>) => Promise<boolean>): void {
  const outages = h.outages as NonNullable<WorkflowHarness['outages']>;
  const claim = outages.claimProbe.bind(outages);
  outages.claimProbe = (outageId, ticketId) => {
    outages.claimProbe = claim;
    return before(() => claim(outageId, ticketId));
  };
}

describe('outage correlation (5 failures of one class within 10 minutes) under a cap of 5', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((harness) => (h = harness), { cap: { default: 5 }, outages: {} });

  it('turns 20 capacity failures within a minute into one outage, one notification and 20 closed tickets', async () => {
    // Prepare
    load(h);
    h.simulator.admin.resetStats();
    const sentBefore = (h.notifier as unknown as { messages: unknown[] }).messages.length;

    // Clusters take minutes to start, failures arrive within seconds: no start completes until all 20
    // failures were handled.
    let letGo: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    h.before('startCluster', async () => {
      await arrived;
    });

    // Act: the 20 failures arrive at once; the reconciler runs while the outage probes.
    const outcomes = await Promise.all(CAPACITY.slice(0, 20).map((id) => fail(h, id)));
    await h.reconcile(PLAYBOOKS);
    letGo();
    const ticketIds = outcomes.map((o) => o.ticket?.ticketId ?? '');
    const tickets = await settled(h, ticketIds);
    await executionsEnded(h, ticketIds);
    await h.reconcile(PLAYBOOKS);

    // Assess
    const outages = (await h.outages?.list()) ?? [];
    expect(outages).toHaveLength(1);
    const [outage] = outages;
    expect(outage).toMatchObject({ workspaceId: WORKSPACE, outageClass: 'capacity', status: 'released' });
    expect(outage?.children.length).toBe(20);
    expect(outage?.children.filter((c) => c.role === 'probe').map((c) => c.ticketId)).toEqual([
      outage?.probeTicketId,
    ]);
    // The first four counted start on their own unless the outage opened before their ticket was written.
    const heldCount = outcomes.filter((o) => o.recoveryStatus === HELD_BY_OUTAGE).length;
    expect(heldCount).toBeGreaterThanOrEqual(15);
    expect(outage?.children.filter((c) => c.role === 'held').length).toBe(heldCount);
    expect(tickets.map((t) => `${t.status} ${t.recoveryStatus} ${t.outageId}`)).toEqual(
      ticketIds.map(() => `closed recovered ${outage?.outageId}`),
    );
    const log = h.simulator.admin.requestLog();
    expect(maxConcurrentRecoveries(log)).toBeLessThanOrEqual(5);
    expect(log.filter((r) => r.method === 'POST' && MUTATION.test(r.path)).length).toBe(20);
    const sent = (
      h.notifier as unknown as { messages: { ticketId: string; outcome: string }[] }
    ).messages.slice(sentBefore);
    expect(sent.map((m) => `${m.ticketId} ${m.outcome}`)).toEqual([`${outage?.outageId} outage`]);
    const held = await h.tickets.getTicket(
      ticketIds[outcomes.findIndex((o) => o.recoveryStatus === HELD_BY_OUTAGE)] ?? '',
    );
    expect(held?.audit.map((a) => a.event)).toEqual(
      expect.arrayContaining(['ticket_opened', 'outage_released', 'recovery_dequeued', 'recovered']),
    );
    expect(h.metricCounts.get('OutagesOpened')).toBe(1);
    expect(h.metricCounts.get('ChildrenHeld')).toBe(heldCount);
    expect(await h.cap?.repository.get(WORKSPACE)).toEqual({ workspaceId: WORKSPACE, active: 0, slots: [] });
  }, 180_000);

  it('escalates the outage with every child held when its probe fails, changing none of the held clusters', async () => {
    // Prepare: four failures start on their own; the fifth opens the outage and probes, but every start
    // of its cluster fails again; three more failures join the outage. No start goes ahead until they
    // joined: the four are still running when the outage links them, the probe fails after the joins.
    load(h);
    const [probeCluster] = CAPACITY.slice(24, 25);
    let joined: () => void = () => undefined;
    const allJoined = new Promise<void>((resolve) => {
      joined = resolve;
    });
    h.before('startCluster', async ({ args }) => {
      if (CAPACITY.slice(20, 25).includes(String(args[0]))) await allJoined;
    });
    const first = await Promise.all(CAPACITY.slice(20, 24).map((id) => fail(h, id)));
    h.simulator.admin.setFaults({
      failNextStarts: {
        count: 10,
        clusterIds: [probeCluster as string],
        reason: { code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', type: 'CLOUD_FAILURE' },
      },
    });
    const probe = await fail(h, probeCluster as string);
    const held = [];
    for (const id of CAPACITY.slice(25, 28)) held.push(await fail(h, id));
    const sentBefore = (h.notifier as unknown as { messages: unknown[] }).messages.length;

    // Act: the probe's start fails only now (a child joining as the probe fails: the next test).
    joined();
    const [probeTicket] = await settled(h, [probe.ticket?.ticketId ?? '']);
    await executionsEnded(h, [probe.ticket?.ticketId ?? '']);
    const heldTickets = await ticketsOf(
      h,
      held.map((o) => o.ticket?.ticketId ?? ''),
    );
    await settled(
      h,
      first.map((o) => o.ticket?.ticketId ?? ''),
    );

    // Assess
    const outage = await h.outages?.get(probeTicket?.outageId ?? '');
    expect(probe.ticket).toMatchObject({ outageProbe: true });
    expect(held.map((o) => o.recoveryStatus)).toEqual([HELD_BY_OUTAGE, HELD_BY_OUTAGE, HELD_BY_OUTAGE]);
    expect(probeTicket?.status).toBe('escalated');
    expect(outage?.status).toBe('escalated');
    expect(outage?.reason).toContain(probeTicket?.ticketId);
    expect(heldTickets.map((t) => `${t.status} ${t.recoveryStatus}`)).toEqual(
      held.map(() => `escalated ${OUTAGE_ESCALATED}`),
    );
    const audit = (await h.tickets.getTicket(heldTickets[0]?.ticketId ?? ''))?.audit ?? [];
    const escalation = audit.find((a) => a.event === 'outage_escalated');
    // The four that started on their own, the probe and the three held: every child of the outage.
    expect(escalation?.details?.evidence).toHaveLength(8);
    const heldClusters = CAPACITY.slice(25, 28);
    const log = h.simulator.admin.requestLog();
    expect(
      log.filter(
        (r) => r.method === 'POST' && MUTATION.test(r.path) && heldClusters.includes(r.clusterId ?? ''),
      ),
    ).toEqual([]);
    const sent = (
      h.notifier as unknown as { messages: { ticketId: string; outcome: string }[] }
    ).messages.slice(sentBefore);
    expect(sent.filter((m) => m.ticketId === outage?.outageId).map((m) => m.outcome)).toEqual(['escalated']);
    expect(sent.filter((m) => m.ticketId === probeTicket?.ticketId).map((m) => m.outcome)).toEqual([
      'escalated',
    ]);
    expect(sent.filter((m) => heldTickets.some((t) => t.ticketId === m.ticketId))).toEqual([]);
  });

  it('gives with the escalation the evidence of a held child whose evidence was not recorded yet', async () => {
    // Prepare: an outage of ghosts names a held child its probe, whose starts all fail; a second child
    // is written held, but its evidence is not on the outage yet (it joins as the probe fails).
    load(h);
    const outageId = await ghosts(h, 19, 5);
    const [probeCluster, lateCluster] = [CAPACITY[50] as string, CAPACITY[51] as string];
    h.simulator.admin.setFaults({
      failNextStarts: {
        count: 10,
        clusterIds: [probeCluster],
        reason: { code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', type: 'CLOUD_FAILURE' },
      },
    });
    const probe = await fail(h, probeCluster);
    const outages = h.outages as NonNullable<WorkflowHarness['outages']>;
    const addChild = outages.addChild.bind(outages);
    outages.addChild = async () => {
      outages.addChild = addChild;
    };
    const late = await fail(h, lateCluster);
    const [probeId, lateId] = [probe.ticket?.ticketId ?? '', late.ticket?.ticketId ?? ''];

    // Act
    await outages.claimProbe(outageId, probeId);
    await h.reconcile(PLAYBOOKS);
    await settled(h, [probeId, lateId]);
    await executionsEnded(h, [probeId]);

    // Assess
    expect([probe.recoveryStatus, late.recoveryStatus]).toEqual([HELD_BY_OUTAGE, HELD_BY_OUTAGE]);
    const outage = await h.outages?.get(outageId);
    expect(outage?.status).toBe('escalated');
    expect(outage?.children.map((c) => `${c.ticketId} ${c.role}`).sort()).toEqual(
      [`${probeId} probe`, `${lateId} held`].sort(),
    );
    const escalation = (await h.tickets.getTicket(lateId))?.audit.find((a) => a.event === 'outage_escalated');
    expect(
      ((escalation?.details?.evidence ?? []) as { ticketId: string }[]).map((c) => c.ticketId).sort(),
    ).toEqual([probeId, lateId].sort());
  });

  it('releases the held children through the cap when an operator resolves the outage while its probe runs', async () => {
    // Prepare: the probe's start waits until the test lets it go.
    load(h);
    let letGo: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    const probeCluster = CAPACITY[32] as string;
    h.before('startCluster', async ({ args }) => {
      if (args[0] === probeCluster) await gate;
    });
    const first = await Promise.all(CAPACITY.slice(28, 32).map((id) => fail(h, id)));
    const probe = await fail(h, probeCluster);
    const held = await Promise.all(CAPACITY.slice(33, 36).map((id) => fail(h, id)));
    const outageId = probe.ticket && 'outageId' in probe.ticket ? probe.ticket.outageId : undefined;
    const outage = await h.outages?.get(outageId ?? '');

    // Act
    const resolved =
      outage &&
      (await releaseOutage(outage, 'resolved', h.outageDeps(), { resolvedBy: 'operator@example.com' }));
    const heldTickets = await settled(
      h,
      held.map((o) => o.ticket?.ticketId ?? ''),
    );
    letGo();
    const all = [...first, probe, ...held].map((o) => o.ticket?.ticketId ?? '');
    await settled(h, all);
    await executionsEnded(h, all);

    // Assess
    expect(held.map((o) => o.recoveryStatus)).toEqual([HELD_BY_OUTAGE, HELD_BY_OUTAGE, HELD_BY_OUTAGE]);
    expect(resolved).toMatchObject({ status: 'resolved', resolvedBy: 'operator@example.com' });
    expect(heldTickets.map((t) => `${t.status} ${t.recoveryStatus}`)).toEqual(
      held.map(() => 'closed recovered'),
    );
    expect((await ticketsOf(h, all)).map((t) => t.status)).toEqual(all.map(() => 'closed'));
    expect(await h.cap?.repository.get(WORKSPACE)).toEqual({ workspaceId: WORKSPACE, active: 0, slots: [] });
  });
  it('has the reconciler pick a probe for an outage that has none, then release the rest when it recovers', async () => {
    // Prepare: the outage's opener never ticketed (its process died); two failures join it, held.
    load(h);
    const outageId = await ghosts(h, 1, 5);
    const held = [];
    for (const id of CAPACITY.slice(36, 38)) held.push(await fail(h, id));

    // Act
    const report = await h.reconcile(PLAYBOOKS);
    const ticketIds = held.map((o) => o.ticket?.ticketId ?? '');
    const tickets = await settled(h, ticketIds);
    await executionsEnded(h, ticketIds);

    // Assess
    expect(held.map((o) => o.recoveryStatus)).toEqual([HELD_BY_OUTAGE, HELD_BY_OUTAGE]);
    const outage = await h.outages?.get(outageId);
    expect(outage).toMatchObject({ status: 'released', probeTicketId: ticketIds[0] });
    expect(report.outagesReleased).toBe(0);
    expect(tickets.map((t) => `${t.status} ${t.recoveryStatus}`)).toEqual([
      'closed recovered',
      'closed recovered',
    ]);
    const audit = (await h.tickets.getTicket(ticketIds[0] ?? ''))?.audit.map((a) => a.event) ?? [];
    expect(audit).toEqual(expect.arrayContaining(['outage_probe', 'recovered']));
    // Started by the reconciler, or taken over by its execution first: either way it ran once.
    expect(
      audit.filter((e) => e === 'workflow_started' || e === 'workflow_took_over').length,
    ).toBeGreaterThan(0);
  });

  it('starts a probe that was named but never moved (the run that named it ended), then releases the rest', async () => {
    // Prepare: the outage names its probe, and the run dies before the probe leaves held_by_outage.
    load(h);
    const { outageId, ticketIds } = await heldWithProbe(h, 6, CAPACITY.slice(38, 40));

    // Act
    await h.reconcile(PLAYBOOKS);
    const tickets = await settled(h, ticketIds);
    await executionsEnded(h, ticketIds);

    // Assess
    expect(await h.outages?.get(outageId)).toMatchObject({ status: 'released', probeTicketId: ticketIds[0] });
    expect(tickets.map((t) => `${t.status} ${t.recoveryStatus}`)).toEqual([
      'closed recovered',
      'closed recovered',
    ]);
  });

  it('probes with the next held child when the probe closes without a verified recovery, and releases on its recovery', async () => {
    // Prepare: an outage of ghosts holds three children; the first is named the probe, but its owner
    // started and stopped its cluster meanwhile (its guard closes it without action: that proves nothing).
    load(h);
    const { outageId, held, ticketIds } = await heldWithProbe(h, 24, CAPACITY.slice(52, 55));
    h.simulator.admin.userStart(CAPACITY[52] as string);
    h.simulator.admin.userTerminate(CAPACITY[52] as string);

    // Act
    await h.reconcile(PLAYBOOKS);
    const tickets = await settled(h, ticketIds);
    await executionsEnded(h, ticketIds);

    // Assess
    expect(held.map((o) => o.recoveryStatus)).toEqual([HELD_BY_OUTAGE, HELD_BY_OUTAGE, HELD_BY_OUTAGE]);
    expect(tickets.map((t) => `${t.status} ${t.recoveryStatus}`)).toEqual([
      'closed resolved_without_action',
      'closed recovered',
      'closed recovered',
    ]);
    const outage = await h.outages?.get(outageId);
    expect(outage).toMatchObject({ status: 'released', probeTicketId: ticketIds[1] });
    expect(outage?.reason).toContain(`${ticketIds[1]} recovered`);
    const second = (await h.tickets.getTicket(ticketIds[1] ?? ''))?.audit.map((a) => a.event) ?? [];
    expect(second).toContain('outage_probe');
    const third = (await h.tickets.getTicket(ticketIds[2] ?? ''))?.audit.map((a) => a.event) ?? [];
    expect(third).toEqual(expect.arrayContaining(['outage_released', 'recovered']));
    expect(third).not.toContain('outage_probe');
    expect(h.metricCounts.get('OutageProbesReplaced')).toBe(1);
  });

  it('holds the opener of an outage when the reconciler named another probe first (one probe, never two)', async () => {
    // Prepare: four failures are counted; the fifth opens the outage, and before it claims the probe
    // (its process slower than the grace period) a failure joins, held, and the reconciler names it.
    load(h);
    const [openerCluster, childCluster] = [CAPACITY[46] as string, CAPACITY[47] as string];
    await ghosts(h, 11, 4);
    let child: IncidentOutcome | undefined;
    onNextClaim(h, async (claim) => {
      child = await fail(h, childCluster);
      await reconcileOutages(h.outageDeps());
      return claim();
    });

    // Act
    const opener = await fail(h, openerCluster);
    const ticketIds = [opener.ticket?.ticketId ?? '', child?.ticket?.ticketId ?? ''];
    const tickets = await settled(h, ticketIds);
    await executionsEnded(h, ticketIds);

    // Assess
    expect([opener.recoveryStatus, child?.recoveryStatus]).toEqual([HELD_BY_OUTAGE, HELD_BY_OUTAGE]);
    const outage = await h.outages?.get(tickets[0]?.outageId ?? '');
    expect(outage).toMatchObject({ status: 'released', probeTicketId: ticketIds[1] });
    expect(outage?.children.map((c) => `${c.ticketId} ${c.role}`).sort()).toEqual(
      [`${ticketIds[0]} held`, `${ticketIds[1]} probe`].sort(),
    );
    expect(tickets.map((t) => `${t.status} ${t.recoveryStatus} ${t.outageProbe}`)).toEqual([
      'closed recovered false',
      'closed recovered true',
    ]);
    // The opener started only after the probe recovered and released it.
    const events = (await h.tickets.getTicket(ticketIds[0] ?? ''))?.audit.map((a) => a.event) ?? [];
    const started = events.findIndex((e) => e === 'workflow_started' || e === 'workflow_took_over');
    expect(events.indexOf('outage_held')).toBeGreaterThan(-1);
    expect(started).toBeGreaterThan(events.indexOf('outage_released'));
    expect(events.indexOf('outage_released')).toBeGreaterThan(events.indexOf('outage_held'));
    expect(await h.cap?.repository.get(WORKSPACE)).toEqual({ workspaceId: WORKSPACE, active: 0, slots: [] });
  });

  it('has the reconciler start the opener that died before claiming the probe, and no second probe', async () => {
    // Prepare: the fifth failure opens the outage and its process dies before it claims the probe
    // (its ticket waits start_pending); a later failure joins, held.
    load(h);
    const [openerCluster, childCluster] = [CAPACITY[48] as string, CAPACITY[49] as string];
    await ghosts(h, 15, 4);
    let died: () => void = () => undefined;
    const dying = new Promise<void>((resolve) => {
      died = resolve;
    });
    onNextClaim(h, () => {
      died();
      return new Promise<boolean>(() => undefined);
    });
    void fail(h, openerCluster);
    await dying;
    const child = await fail(h, childCluster);
    const opener = (await h.tickets.listStartPending(100)).tickets.find((t) => t.clusterId === openerCluster);

    // Act
    await h.reconcile(PLAYBOOKS);
    const ticketIds = [opener?.ticketId ?? '', child.ticket?.ticketId ?? ''];
    const tickets = await settled(h, ticketIds);
    await executionsEnded(h, ticketIds);

    // Assess
    expect(opener).toMatchObject({ outageProbe: true });
    expect(await h.outages?.get(opener?.outageId ?? '')).toMatchObject({
      status: 'released',
      probeTicketId: ticketIds[0],
    });
    expect(tickets.map((t) => `${t.status} ${t.recoveryStatus}`)).toEqual([
      'closed recovered',
      'closed recovered',
    ]);
    const events = (await h.tickets.getTicket(ticketIds[1] ?? ''))?.audit.map((a) => a.event) ?? [];
    expect(events).not.toContain('outage_probe');
    expect(events).toContain('outage_released');
  });

  it('makes 7 workspace-update failures one outage that escalates once with every held one, starting nothing', async () => {
    // Prepare: Databricks' workspace update stops 7 clusters (WORKSPACE_UPDATE, its playbook escalates).
    load(h);
    h.simulator.admin.resetStats();
    const clusters = CAPACITY.slice(55, 60).concat(CAPACITY.slice(47, 49));
    const signals = await Promise.all(
      clusters.map(async (id) =>
        signalFromCluster(
          {
            ...(await h.cluster(id)),
            termination_reason: { code: 'WORKSPACE_UPDATE', type: 'SERVICE_FAULT' },
          },
          'termination',
          'poller',
          { workspaceId: 'maintained', now: Date.now() },
        ),
      ),
    );
    const sentBefore = (h.notifier as unknown as { messages: unknown[] }).messages.length;

    // Act
    const outcomes = [];
    for (const signal of signals) outcomes.push(await h.handle(signal));
    await h.reconcile();
    const tickets = await ticketsOf(
      h,
      outcomes.map((o) => o.ticket?.ticketId ?? ''),
    );

    // Assess: the first four escalate on their own as before; the fifth opens the outage, held with the rest.
    expect(outcomes.map((o) => o.recoveryStatus)).toEqual([
      'not_applicable',
      'not_applicable',
      'not_applicable',
      'not_applicable',
      HELD_BY_OUTAGE,
      HELD_BY_OUTAGE,
      HELD_BY_OUTAGE,
    ]);
    const outage = (await h.outages?.list())?.find((o) => o.workspaceId === 'maintained');
    expect(outage).toMatchObject({ outageClass: 'workspace_update', status: 'escalated', escalates: true });
    expect(outage?.reason).toContain('no automated recovery to probe');
    expect(tickets.slice(4).map((t) => `${t.status} ${t.recoveryStatus} ${t.outageId}`)).toEqual(
      [0, 1, 2].map(() => `escalated ${OUTAGE_ESCALATED} ${outage?.outageId}`),
    );
    const sent = (
      h.notifier as unknown as { messages: { ticketId: string; outcome: string }[] }
    ).messages.slice(sentBefore);
    expect(sent.filter((m) => m.ticketId === outage?.outageId).map((m) => m.outcome)).toEqual(['escalated']);
    expect(sent.filter((m) => tickets.slice(4).some((t) => t.ticketId === m.ticketId))).toEqual([]);
    expect(
      h.simulator.admin.requestLog().filter((r) => r.method === 'POST' && MUTATION.test(r.path)),
    ).toEqual([]);
  });
});

describe('outage correlation: failures that do not make an outage', () => {
  let h: WorkflowHarness;
  useWorkflowHarness((harness) => (h = harness), { cap: { default: 5 }, outages: {} });

  it.each([
    [
      'four capacity and four network failures (fewer than 5 of each class)',
      () => [...CAPACITY.slice(36, 40), ...NETWORK],
    ],
    ['six driver failures (no outage class)', () => DRIVER.slice(0, 6)],
  ])('handles %s as failures of their own', async (_name, clusters) => {
    // Prepare
    load(h);
    const before = ((await h.outages?.list()) ?? []).length;

    // Act
    const outcomes = await Promise.all(clusters().map((id) => fail(h, id)));
    const tickets = await settled(
      h,
      outcomes.map((o) => o.ticket?.ticketId ?? ''),
    );
    await executionsEnded(
      h,
      tickets.map((t) => t.ticketId),
    );

    // Assess
    expect(((await h.outages?.list()) ?? []).length).toBe(before);
    expect(outcomes.map((o) => o.recoveryStatus)).not.toContain(HELD_BY_OUTAGE);
    expect(tickets.map((t) => `${t.status} ${t.recoveryStatus} ${t.outageId}`)).toEqual(
      tickets.map(() => 'closed recovered undefined'),
    );
  });

  it('never holds a failure of no outage class while an outage of its workspace is open', async () => {
    // Prepare: a capacity outage opens (its probe's start waits).
    load(h);
    let letGo: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    h.before('startCluster', async ({ args }) => {
      if (CAPACITY.includes(String(args[0]))) await gate;
    });
    const capacity = await Promise.all(CAPACITY.slice(40, 46).map((id) => fail(h, id)));

    // Act: two driver failures arrive while the capacity outage holds its children (the cap is full).
    const drivers = await Promise.all(DRIVER.slice(6, 8).map((id) => fail(h, id)));
    letGo();
    const all = [...capacity, ...drivers].map((o) => o.ticket?.ticketId ?? '');
    await settled(h, all);
    await executionsEnded(h, all);
    const driverTickets = await ticketsOf(
      h,
      drivers.map((o) => o.ticket?.ticketId ?? ''),
    );

    // Assess
    expect(capacity.map((o) => o.recoveryStatus)).toContain(HELD_BY_OUTAGE);
    expect(drivers.map((o) => [QUEUED, 'in_progress'].includes(o.recoveryStatus ?? ''))).toEqual([
      true,
      true,
    ]);
    expect(driverTickets.map((t) => `${t.status} ${t.recoveryStatus} ${t.outageId}`)).toEqual([
      'closed recovered undefined',
      'closed recovered undefined',
    ]);
  });
});
