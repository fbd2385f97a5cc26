/**
 * The outage items against DynamoDB Local: concurrent failures open exactly one outage, a failure
 * ticketed on its own never lands once its class's outage is open, and an ended outage starts a new count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifySignal } from '../../functions/core/classifier/classify.ts';
import { OutageConfigSchema } from '../../functions/core/outage.ts';
import { claimsProbe, HELD_BY_OUTAGE, holdAsChild, outageRoleOf } from '../../functions/core/outage-path.ts';
import { signalFromCluster } from '../../functions/core/signal-builders.ts';
import { OutageCorrelator } from '../../functions/store/outage-correlator.ts';
import { OutageRepository } from '../../functions/store/outages.ts';
import { TicketRepository } from '../../functions/store/tickets.ts';
import { createTestTable, type TestTable } from '../support/dynamodb.ts';

describe('OutageCorrelator against DynamoDB Local', () => {
  let table: TestTable;
  let outages: OutageCorrelator;
  let tickets: TicketRepository;
  beforeAll(async () => {
    table = await createTestTable('outages');
    outages = new OutageCorrelator(
      new OutageRepository({ client: table.documentClient, tableName: table.tableName }),
      OutageConfigSchema.parse({}),
    );
    tickets = new TicketRepository({ client: table.documentClient, tableName: table.tableName });
  });
  afterAll(async () => {
    await table.destroy();
  });

  const member = (cluster: string) => ({ clusterId: cluster, at: Date.now(), incidentKey: `ws#${cluster}` });

  it('opens exactly one outage for 20 failures of one class counted at once; every later one joins it', async () => {
    // Act
    const decisions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => outages.correlate('burst', 'capacity', member(`c${i}`))),
    );

    // Assess
    const opened = decisions.flatMap((d) => (d.kind === 'opened' ? [d.outage.outageId] : []));
    expect(opened).toHaveLength(1);
    const joined = decisions.flatMap((d) => (d.kind === 'join' ? [d.outageId] : []));
    expect(new Set(joined)).toEqual(new Set(opened));
    expect(decisions.filter((d) => d.kind === 'none').length).toBeLessThanOrEqual(4);
    expect((await outages.list()).filter((o) => o.workspaceId === 'burst')).toHaveLength(1);
  });

  it('lets only one of the fifth and sixth failures, counted concurrently, open the outage', async () => {
    // Prepare
    for (const cluster of ['a', 'b', 'c', 'd']) await outages.correlate('pair', 'stockout', member(cluster));

    // Act
    const [fifth, sixth] = await Promise.all([
      outages.correlate('pair', 'stockout', member('e')),
      outages.correlate('pair', 'stockout', member('f')),
    ]);

    // Assess
    expect([fifth?.kind, sixth?.kind].sort()).toEqual(['join', 'opened']);
    const outage =
      fifth?.kind === 'opened' ? fifth.outage : sixth?.kind === 'opened' ? sixth.outage : undefined;
    expect(fifth?.kind === 'join' ? fifth.outageId : sixth?.kind === 'join' ? sixth.outageId : '').toBe(
      outage?.outageId,
    );
  });

  it('keeps apart the classes and the workspaces', async () => {
    // Act
    const decisions = [];
    for (let i = 0; i < 4; i++) {
      decisions.push(await outages.correlate('apart', 'capacity', member(`cap${i}`)));
      decisions.push(await outages.correlate('apart', 'network', member(`net${i}`)));
      decisions.push(await outages.correlate('apart-too', 'capacity', member(`other${i}`)));
    }

    // Assess
    expect(decisions.map((d) => d.kind)).toEqual(decisions.map(() => 'none'));
  });

  it('does not write a ticket of its own once its class has an outage: the ticket is guarded and joins', async () => {
    // Prepare: a failure counted fourth; the fifth opens the outage before the fourth's ticket is written.
    for (const cluster of ['g1', 'g2', 'g3']) await outages.correlate('guard', 'capacity', member(cluster));
    const fourth = await outages.correlate('guard', 'capacity', member('g4'));
    const fifth = await outages.correlate('guard', 'capacity', member('g5'));

    // Act
    const opened = await tickets.openTicketUnlessSilenced(
      {
        incidentKey: 'guard#g4',
        recoveryStatus: 'start_pending',
        workspaceId: 'guard',
        clusterId: 'g4',
        source: 'poller',
        errorType: 'DatabricksResourceExhausted',
        category: 'capacity',
        action: 'restart_cluster',
        reason: 'test',
        ...(fourth.kind === 'none' && fourth.guard !== undefined ? { guardItem: fourth.guard } : {}),
      },
      [],
    );

    // Assess
    expect(fourth.kind).toBe('none');
    expect(fifth.kind).toBe('opened');
    expect(opened.outcome).toBe('guarded');
    const item = opened.outcome === 'guarded' ? opened.item : undefined;
    expect(JSON.stringify(item)).toContain(fifth.kind === 'opened' ? fifth.outage.outageId : 'no outage');
  });

  it('keeps the ticket a failure recorded in the window when the same failure is reported again', async () => {
    // Prepare: the webhook's report, ticketed on its own (its guard write records its ticket).
    const first = await outages.correlate('again', 'capacity', member('r1'));
    const opened = await tickets.openTicketUnlessSilenced(
      {
        incidentKey: 'ws#r1',
        recoveryStatus: 'start_pending',
        workspaceId: 'again',
        clusterId: 'r1',
        source: 'cluster_event',
        errorType: 'DatabricksResourceExhausted',
        category: 'capacity',
        action: 'restart_cluster',
        reason: 'test',
        ...(first.kind === 'none' && first.guard !== undefined ? { guardItem: first.guard } : {}),
      },
      [],
    );

    // Act: the poller reports the same failure.
    const again = await outages.correlate('again', 'capacity', member('r1'));

    // Assess
    expect(again.kind).toBe('none');
    const ticketId = opened.outcome === 'created' ? opened.ticket.ticketId : 'no ticket';
    expect((await outages.ownTickets('again', 'capacity')).map((m) => m.ticketId)).toEqual([ticketId]);
  });

  it('offers the next outage none of the tickets of a count that ended with the last one', async () => {
    // Prepare: four failures ticketed on their own, the fifth opens an outage, which ends.
    for (const cluster of ['o1', 'o2', 'o3', 'o4']) {
      const counted = await outages.correlate('older', 'cloud_provider', member(cluster));
      await tickets.openTicketUnlessSilenced(
        {
          incidentKey: `ws#${cluster}`,
          recoveryStatus: 'start_pending',
          workspaceId: 'older',
          clusterId: cluster,
          source: 'poller',
          errorType: 'DatabricksClusterStartFailure',
          category: 'infrastructure',
          action: 'restart_cluster',
          reason: 'test',
          ...(counted.kind === 'none' && counted.guard !== undefined ? { guardItem: counted.guard } : {}),
        },
        [],
      );
    }
    const first = await outages.correlate('older', 'cloud_provider', member('o5'));
    await outages.end(first.kind === 'opened' ? first.outage.outageId : '', ['probing'], 'released', {
      reason: 'test',
    });

    // Act: five new failures open the next outage.
    let next = first;
    for (const cluster of ['p1', 'p2', 'p3', 'p4', 'p5'])
      next = await outages.correlate('older', 'cloud_provider', member(cluster));
    const offered = await outages.ownTickets('older', 'cloud_provider');

    // Assess
    expect(first.kind).toBe('opened');
    expect(next.kind).toBe('opened');
    expect(offered).toEqual([]);
  });

  it('starts a new count once an outage ended, and refuses to end it twice', async () => {
    // Prepare
    let decision = await outages.correlate('again', 'network', member('n0'));
    for (let i = 1; i < 5; i++) decision = await outages.correlate('again', 'network', member(`n${i}`));
    const outageId = decision.kind === 'opened' ? decision.outage.outageId : '';

    // Act
    const ended = await outages.end(outageId, ['probing'], 'released', { reason: 'test' });
    const endedAgain = await outages.end(outageId, ['probing'], 'escalated', { reason: 'test' });
    const after = await outages.correlate('again', 'network', member('n0'));

    // Assess
    expect(ended).toMatchObject({ status: 'released', reason: 'test' });
    expect(endedAgain).toBeUndefined();
    expect(after).toMatchObject({ kind: 'none', count: 1 });
  });

  it('lets only the probe claimant start it: a slower opener is held, its slot given back, recorded held', async () => {
    // Prepare: an outage; two tickets that each think they are its probe, both with a slot of the cap.
    let decision = await outages.correlate('claims', 'capacity', member('p0'));
    for (let i = 1; i < 5; i++) decision = await outages.correlate('claims', 'capacity', member(`p${i}`));
    const outageId = decision.kind === 'opened' ? decision.outage.outageId : '';
    const open = async (cluster: string) => {
      const opened = await tickets.openTicketUnlessSilenced(
        {
          incidentKey: `claims#${cluster}`,
          recoveryStatus: 'start_pending',
          workspaceId: 'claims',
          clusterId: cluster,
          source: 'poller',
          errorType: 'DatabricksResourceExhausted',
          category: 'capacity',
          action: 'restart_cluster',
          reason: 'cloud provider out of capacity',
          outageId,
          outageProbe: true,
        },
        [],
      );
      if (opened.outcome !== 'created') throw new Error(`ticket for ${cluster} not created`);
      return opened.ticket;
    };
    const first = await open('p3');
    const second = await open('p4');
    const released: string[] = [];
    const cap = { release: async (_: string, ticketId: string) => released.push(ticketId) > 0 };

    // Act
    const claims = [
      await claimsProbe(outages, outageId, first.ticketId),
      await claimsProbe(outages, outageId, second.ticketId),
      await claimsProbe(outages, outageId, first.ticketId),
    ];
    const held = await holdAsChild(second, outageId, { tickets, outages, cap, actor: 'poller' });

    // Assess
    expect(claims).toEqual([true, false, true]);
    expect(held).toMatchObject({ ticketId: second.ticketId, recoveryStatus: HELD_BY_OUTAGE, status: 'open' });
    expect(held.outageProbe).not.toBe(true);
    expect(released).toEqual([second.ticketId]);
    const stored = await tickets.getTicket(second.ticketId);
    expect(stored?.ticket).toMatchObject({ recoveryStatus: HELD_BY_OUTAGE, outageProbe: false });
    expect(stored?.audit.at(-1)).toMatchObject({
      event: 'outage_held',
      actor: 'poller',
      details: { outageId, reason: 'another ticket is the outage probe' },
    });
    const outage = await outages.get(outageId);
    expect(outage?.probeTicketId).toBe(first.ticketId);
    expect(outage?.children.find((child) => child.ticketId === second.ticketId)).toMatchObject({
      role: 'held',
      clusterId: 'p4',
    });
  });

  it('replaces the probe only in place of the named one, and only while the outage probes', async () => {
    // Prepare
    let decision = await outages.correlate('reprobe', 'capacity', member('r0'));
    for (let i = 1; i < 5; i++) decision = await outages.correlate('reprobe', 'capacity', member(`r${i}`));
    const outageId = decision.kind === 'opened' ? decision.outage.outageId : '';
    await outages.claimProbe(outageId, 'RCA-first');

    // Act
    const fromOther = await outages.replaceProbe(outageId, 'RCA-other', 'RCA-second');
    const replaced = await outages.replaceProbe(outageId, 'RCA-first', 'RCA-second');
    const probe = (await outages.get(outageId))?.probeTicketId;
    await outages.end(outageId, ['probing'], 'released', { reason: 'test' });
    const afterEnd = await outages.replaceProbe(outageId, 'RCA-second', 'RCA-third');

    // Assess
    expect([fromOther, replaced, afterEnd]).toEqual([false, true, false]);
    expect(probe).toBe('RCA-second');
    expect((await outages.get(outageId))?.probeTicketId).toBe('RCA-second');
  });
});

describe('outageRoleOf with the correlator against DynamoDB Local', () => {
  let table: TestTable;
  let outages: OutageCorrelator;
  beforeAll(async () => {
    table = await createTestTable('outage-roles');
    outages = new OutageCorrelator(
      new OutageRepository({ client: table.documentClient, tableName: table.tableName }),
      OutageConfigSchema.parse({ workspaces: { quiet: { enabled: false } } }),
    );
  });
  afterAll(async () => {
    await table.destroy();
  });

  const CAPACITY = { code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE', type: 'CLOUD_FAILURE' };
  const failure = (workspaceId: string, clusterId: string, reason = CAPACITY) =>
    signalFromCluster(
      { cluster_id: clusterId, state: 'TERMINATED', termination_reason: reason },
      'termination',
      'poller',
      { workspaceId, now: Date.now() },
    );
  const roleOf = (signal: ReturnType<typeof failure>) =>
    outageRoleOf(signal, classifySignal(signal), outages);

  it('frees the first four failures of a class with a guard, makes the fifth the probe and holds the sixth', async () => {
    // Act
    const roles = [];
    for (const cluster of ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'])
      roles.push(await roleOf(failure('roles', cluster)));

    // Assess
    expect(roles.slice(0, 4).map((role) => role?.kind)).toEqual(['free', 'free', 'free', 'free']);
    expect(roles.slice(0, 4).every((role) => role?.kind === 'free' && role.guard !== undefined)).toBe(true);
    const probe = roles[4];
    expect(probe?.kind).toBe('probe');
    const outage = probe?.kind === 'probe' ? probe.outage : undefined;
    expect(outage).toMatchObject({
      workspaceId: 'roles',
      outageClass: 'capacity',
      members: ['r1', 'r2', 'r3', 'r4', 'r5'],
    });
    expect(roles[5]).toStrictEqual({ kind: 'held', outageId: outage?.outageId, outageClass: 'capacity' });
    const window = await outages.repository.getWindow('roles', 'capacity');
    expect(window.members.map((m) => m.incidentKey)).toEqual(
      ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map((cluster) => failure('roles', cluster).incidentKey),
    );
  });

  it('holds the failure that opens an outage of failures its playbook escalates: nothing probes, it escalates', async () => {
    // Prepare: four workspace-update failures counted, each escalating on its own.
    const UPDATE = { code: 'WORKSPACE_UPDATE', type: 'SERVICE_FAULT' };
    const escalating = (cluster: string) => {
      const signal = failure('updates', cluster, UPDATE);
      return outageRoleOf(signal, classifySignal(signal), outages, true);
    };
    for (const cluster of ['u1', 'u2', 'u3', 'u4']) await escalating(cluster);

    // Act
    const fifth = await escalating('u5');

    // Assess
    expect(fifth).toMatchObject({ kind: 'held', outageClass: 'workspace_update' });
    const outage = await outages.get(fifth?.kind === 'held' ? fifth.outageId : 'none');
    expect(outage).toMatchObject({ status: 'probing', escalates: true, outageClass: 'workspace_update' });
    expect(outage?.probeTicketId).toBeUndefined();
  });

  it('frees a failure, with no guard, where correlation is switched off', async () => {
    // Act
    const role = await roleOf(failure('quiet', 'q1'));

    // Assess
    expect(role).toStrictEqual({ kind: 'free' });
  });

  it.each([
    { name: 'no correlator', signal: () => failure('none', 'n1'), gate: false },
    {
      name: 'a failure of no outage class',
      signal: () => failure('none', 'n1', { code: 'DRIVER_UNREACHABLE', type: 'CLOUD_FAILURE' }),
      gate: true,
    },
    {
      name: 'a failure without a cluster',
      signal: () => {
        const { clusterId: _, ...rest } = failure('none', 'n1');
        return rest;
      },
      gate: true,
    },
  ])('counts nothing and gives no role for $name', async ({ signal, gate }) => {
    // Prepare
    const observed = signal();

    // Act
    const role = await outageRoleOf(observed, classifySignal(observed), gate ? outages : undefined);

    // Assess
    expect(role).toBeUndefined();
    expect((await outages.repository.getWindow('none', 'capacity')).members).toEqual([]);
  });
});
