/**
 * The approval gate's operator side: `rca approve ID` starts an `awaiting_approval` recovery through
 * the reconciler's start path (the blast-radius cap, the breakers, then the workflow and its guard);
 * `rca deny ID --reason` closes the ticket with nothing changed. Both are audited on the ticket with
 * the operator's identity. Nothing here touches a cluster.
 */

import { AWAITING_APPROVAL, DENIED } from '../core/fleet.ts';
import { START_PENDING } from '../core/recovery-status.ts';
import type { Ticket } from '../core/ticket.ts';
import * as z from '../core/zod.ts';
import { HttpError } from '../intake/http.ts';
import { startPendingTicket } from '../poller/reconcile.ts';
import type { OpsDeps } from './deps.ts';
import { getTicket, type RetryOutcome } from './tickets.ts';

export const DenySchema = z.strictObject({
  reason: z.string().check(z.trim(), z.minLength(3, 'say why (at least 3 characters)'), z.maxLength(500)),
});

async function awaiting(id: string, deps: OpsDeps): Promise<Ticket> {
  const { ticket } = await getTicket(id, deps);
  if (ticket.status !== 'open' || ticket.recoveryStatus !== AWAITING_APPROVAL) {
    throw new HttpError(
      409,
      `ticket ${id} is ${ticket.status} (recovery ${ticket.recoveryStatus}); only a ticket awaiting approval can be approved or denied`,
    );
  }
  return ticket;
}

export async function approveTicket(id: string, actor: string, deps: OpsDeps): Promise<RetryOutcome> {
  const ticket = await awaiting(id, deps);
  if (!deps.autoRemediationEnabled) {
    throw new HttpError(409, 'AUTO_REMEDIATION_ENABLED is false: nothing would start; switch it on first');
  }
  await deps.tickets.transition(id, {
    from: ['open'],
    to: 'open',
    expectedVersion: ticket.version,
    patch: { recoveryStatus: START_PENDING },
    audit: {
      event: 'approved',
      actor,
      details: { action: ticket.action, approvalDeadline: ticket.approvalDeadline },
    },
  });
  deps.start.metrics.count('ApprovalsGranted');
  await startPendingTicket(id, deps.start);
  const after = (await deps.tickets.getTicket(id))?.ticket ?? ticket;
  const started = after.status === 'in_progress' || after.recoveryStatus === 'in_progress';
  return {
    ticketId: id,
    retried: started || after.recoveryStatus === 'queued',
    status: after.status,
    recoveryStatus: after.recoveryStatus,
    message: started
      ? `Approved: the ${ticket.action} recovery started (its guard re-reads the cluster before any change)`
      : after.recoveryStatus === 'queued'
        ? `Approved: the ${ticket.action} recovery waits queued for a slot of the workspace's blast-radius cap`
        : `Approved, but not started: ticket is ${after.status} (${after.recoveryStatus})${after.escalationReason === undefined ? '' : `: ${after.escalationReason}`}`,
  };
}

export async function denyTicket(
  id: string,
  body: unknown,
  actor: string,
  deps: OpsDeps,
): Promise<RetryOutcome> {
  const parsed = DenySchema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, `${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}`);
  }
  const ticket = await awaiting(id, deps);
  const moved = await deps.tickets.transition(id, {
    from: ['open'],
    to: 'closed',
    expectedVersion: ticket.version,
    patch: { recoveryStatus: DENIED, escalationReason: `Denied by ${actor}: ${parsed.data.reason}` },
    audit: { event: 'denied', actor, details: { reason: parsed.data.reason, action: ticket.action } },
  });
  deps.start.metrics.count('ApprovalsDenied');
  return {
    ticketId: id,
    retried: false,
    status: moved.ticket.status,
    recoveryStatus: moved.ticket.recoveryStatus,
    message: `Denied: the ${ticket.action} recovery will not run; the ticket is closed and nothing was changed`,
  };
}
