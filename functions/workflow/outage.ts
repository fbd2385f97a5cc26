/**
 * The workflow's side of outage correlation (`core/outage.ts`): a recovery that belongs to an outage
 * does not notify on its own when it recovers (the outage notifies once for all of them), and the end
 * of an outage's probe settles the outage at once — recovered: its held children go to the cap's
 * queue; escalated: the outage escalates with their evidence (the reconciler does it otherwise).
 */

import type { Ticket } from '../core/ticket.ts';
import type { NotificationOutcome } from '../shared/notify.ts';
import type { WorkflowDeps } from './deps.ts';

/** Whether this ticket's own notification is left to its outage's. */
export function notifiedByOutage(
  ticket: Pick<Ticket, 'outageId'> | undefined,
  outcome: NotificationOutcome,
  deps: Pick<WorkflowDeps, 'outages'>,
): boolean {
  if (deps.outages === undefined || ticket?.outageId === undefined) return false;
  // An escalation always notifies on its own (the outage may have been resolved meanwhile, and then
  // nothing else would tell of it); a probe's is followed by the outage's, with every child's evidence.
  return outcome === 'recovered' || outcome === 'resolved';
}

/** Settles the outage whose probe this ticket is (a failure is logged: the reconciler settles it). */
export async function settleOutageOf(ticket: Ticket | undefined, deps: WorkflowDeps): Promise<void> {
  if (deps.outages === undefined || ticket?.outageId === undefined || ticket.outageProbe !== true) return;
  try {
    await deps.outages.settleProbe(ticket.outageId);
  } catch (error) {
    deps.logger.warn('the outage could not be settled now; the reconciler will', {
      outageId: ticket.outageId,
      ticketId: ticket.ticketId,
      error: (error as Error).message,
    });
  }
}
