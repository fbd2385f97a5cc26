/**
 * The approval gate through `npm start`'s real parts: the webhook over HTTP, DynamoDB Local, the
 * simulator, the REAL ASL on aws-local-stepfunctions, the operations API and the `rca` commands, and
 * the poller's reconciler. The driver-failure playbook requires approval here (1 s to give it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startPollerLoop } from '../../lib/local/poller-loop.ts';
import { useLocalHostCli } from '../support/local-host-cli.ts';

const ROOT = join(import.meta.dirname, '../..');
const DRIVER_LOST = { code: 'DRIVER_UNREACHABLE', type: 'CLOUD_FAILURE' } as const;

describe('the approval gate: rca approve, rca deny and the approval timeout against npm start', () => {
  const { host, rca, post, failAndReport, ticket, ticketWhen, mutationsOf } = useLocalHostCli(
    'test/fixtures/ops/approval-playbooks.json',
  );

  it('holds the recovery awaiting approval with nothing changed, and `rca approve` recovers it', async () => {
    // Prepare
    const answer = await post(
      JSON.parse(readFileSync(join(ROOT, 'test/fixtures/seed/test1-driver-unreachable.json'), 'utf8')),
    );
    const id = String(answer.ticket_id);
    const listed = JSON.parse((await rca(['tickets', '--status', 'awaiting_approval', '--json'])).stdout);
    const mutationsBefore = mutationsOf('test-cluster-123').length;

    // Act
    const approved = await rca(['approve', id]);
    const recovered = await ticketWhen(id, (t) => t.status === 'closed' || t.status === 'escalated');

    // Assess
    expect(answer).toMatchObject({ status: 'success', recovery_status: 'awaiting_approval' });
    expect(String(answer.message)).toContain(`rca approve ${id}`);
    expect(listed.tickets.map((t: { ticketId: string }) => t.ticketId)).toContain(id);
    expect(mutationsBefore).toBe(0);
    expect(approved.code).toBe(0);
    expect(recovered).toMatchObject({ status: 'closed', recoveryStatus: 'recovered' });
    expect(mutationsOf('test-cluster-123').length).toBe(1);
    const audit = (await ticket(id)).audit;
    expect(audit.find((a) => a.event === 'approved')?.actor).toBe('local-operator');
  });

  it('closes a denied recovery with the reason and no call that changes the cluster', async () => {
    // Prepare
    const answer = await failAndReport('0923-164208-meows279', DRIVER_LOST);
    const id = String(answer.ticket_id);

    // Act
    const denied = await rca(['deny', id, '--reason', 'the owner is migrating this cluster']);
    const again = await rca(['approve', id]);

    // Assess
    expect(answer).toMatchObject({ recovery_status: 'awaiting_approval' });
    expect(denied.code).toBe(0);
    expect(again.code).toBe(1);
    const found = await ticket(id);
    expect(found.ticket).toMatchObject({ status: 'closed', recoveryStatus: 'denied' });
    expect(found.audit.find((a) => a.event === 'denied')?.actor).toBe('local-operator');
    expect(mutationsOf('0923-164208-meows279')).toEqual([]);
  });

  it('escalates an approval nobody gave within approval_timeout at the next reconciler run, with no cluster call', async () => {
    // Prepare
    const answer = await failAndReport('1211-084523-spotp7x2', DRIVER_LOST);
    const id = String(answer.ticket_id);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const poller = startPollerLoop(host(), host().workflow, { intervalSeconds: 0 });

    // Act
    const report = await poller.runOnce();
    await poller.stop();

    // Assess
    expect(answer).toMatchObject({ recovery_status: 'awaiting_approval' });
    expect(report.reconcile?.approvalsTimedOut).toBe(1);
    const found = await ticket(id);
    expect(found.ticket).toMatchObject({ status: 'escalated', recoveryStatus: 'approval_timed_out' });
    expect(found.ticket.escalationReason).toContain('approval_timeout');
    expect(mutationsOf('1211-084523-spotp7x2')).toEqual([]);
  });
});
