/**
 * `rca outage` through `npm start`'s real parts: the webhook over HTTP, DynamoDB Local, the simulator,
 * the REAL ASL on aws-local-stepfunctions and the operations API. An outage whose opener never
 * ticketed holds a capacity failure; `rca outage resolve` releases it through the cap and the guard.
 */
import { describe, expect, it } from 'vitest';
import type { Ticket } from '../../functions/core/ticket.ts';
import type { LocalHost } from '../../lib/local/host.ts';
import { useLocalHostCli } from '../support/local-host-cli.ts';

const CLUSTER = '0923-164208-meows279';

describe('rca outage list, show and resolve against npm start', () => {
  const { host, rca, failAndReport, ticketWhen, mutationsOf } = useLocalHostCli(
    'test/fixtures/ops/outage-playbooks.json',
  );
  const mutations = () => mutationsOf(CLUSTER);

  it('holds a capacity failure of an open outage, and resolving the outage recovers it', async () => {
    // Prepare: five capacity failures counted whose tickets never came (the opener died), then a real one.
    let opened: Awaited<ReturnType<NonNullable<LocalHost['outages']>['correlate']>> | undefined;
    for (const ghost of ['g1', 'g2', 'g3', 'g4', 'g5'])
      opened = await host().outages?.correlate('default', 'capacity', {
        clusterId: ghost,
        at: host().clock(),
      });
    const outageId = opened?.kind === 'opened' ? opened.outage.outageId : '';
    const answer = await failAndReport(CLUSTER, {
      code: 'AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE',
      type: 'CLOUD_FAILURE',
    });
    const id = String(answer.ticket_id);

    // Act
    const list = await rca(['outage', 'list', '--json']);
    const shown = await rca(['outage', outageId]);
    const held = JSON.parse((await rca(['tickets', '--status', 'held_by_outage', '--json'])).stdout);
    const shownTicket = await rca(['ticket', id]);
    const mutationsWhileHeld = mutations().length;
    const resolved = await rca(['outage', 'resolve', outageId, '--reason', 'AWS capacity is back']);
    const again = await rca(['outage', 'resolve', outageId]);
    const after = await ticketWhen(id, (t) => t.status === 'closed' || t.status === 'escalated');

    // Assess
    expect(answer).toMatchObject({ status: 'success', recovery_status: 'held_by_outage' });
    expect(String(answer.message)).toContain(`rca outage resolve ${outageId}`);
    expect(JSON.parse(list.stdout).outages.map((o: { outageId: string }) => o.outageId)).toContain(outageId);
    expect(shown.stdout).toContain(id);
    expect(held.tickets.map((t: Ticket) => t.ticketId)).toEqual([id]);
    expect(shownTicket.stdout).toContain(outageId);
    expect(mutationsWhileHeld).toBe(0);
    expect(resolved.code).toBe(0);
    expect(again.code).toBe(1);
    expect(after).toMatchObject({ status: 'closed', recoveryStatus: 'recovered', outageId });
    expect(mutations()).toHaveLength(1);
    const outage = JSON.parse((await rca(['outage', outageId, '--json'])).stdout);
    expect(outage).toMatchObject({
      status: 'resolved',
      resolvedBy: 'local-operator',
      reason: 'AWS capacity is back',
    });
  });

  it('refuses to resolve an escalated outage (409 naming its state) and writes nothing: its window counts on', async () => {
    // Prepare: a network outage of ghosts escalated; two failures of the class counted after it.
    let opened: Awaited<ReturnType<NonNullable<LocalHost['outages']>['correlate']>> | undefined;
    for (const ghost of ['n1', 'n2', 'n3', 'n4', 'n5'])
      opened = await host().outages?.correlate('default', 'network', {
        clusterId: ghost,
        at: host().clock(),
      });
    const outageId = opened?.kind === 'opened' ? opened.outage.outageId : '';
    const escalated = await host().outages?.end(outageId, ['probing'], 'escalated', {
      reason: 'probe failed',
    });
    for (const ghost of ['n6', 'n7'])
      await host().outages?.correlate('default', 'network', { clusterId: ghost, at: host().clock() });

    // Act
    const resolved = await rca(['outage', 'resolve', outageId, '--reason', 'the network is back']);
    const counted = await host().outages?.correlate('default', 'network', {
      clusterId: 'n8',
      at: host().clock(),
    });

    // Assess
    expect(resolved.code).toBe(1);
    expect(resolved.stderr).toContain(`outage ${outageId} was escalated`);
    expect(resolved.stderr).toContain('nothing is held to release');
    expect(await host().outages?.get(outageId)).toEqual(escalated);
    expect(counted).toMatchObject({ kind: 'none', count: 3 });
  });

  it.each([
    [['outage'], 2],
    [['outage', 'resolve'], 2],
    [['outage', 'OUT-nope'], 1],
    [['outage', 'OUT-20261130-00000001-abcd'], 4],
  ])('answers rca %j with exit code %i', async (args, code) => {
    // Act
    const result = await rca(args);

    // Assess
    expect(result.code).toBe(code);
  });
});
