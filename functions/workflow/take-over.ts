/**
 * The first half of the first Remediate task: take the ticket over (open or in_progress, both are
 * fine: the intake moves it to in_progress after starting the execution and may lose the race) and
 * create the state the machine carries. A ticket someone else resolved meanwhile is left alone.
 */
import { executionNameFor } from '../core/incident.ts';
import { TicketStateError } from '../core/ticket.ts';
import type { WorkflowDeps } from './deps.ts';
import type { RecoveryInput, RecoveryState } from './model.ts';
import { escalateUntried } from './support.ts';

const RESOLVED = new Set(['closed', 'escalated', 'suppressed']);

/** The first task: takes the ticket over and creates the state. */
export async function takeOver(input: RecoveryInput, deps: WorkflowDeps): Promise<RecoveryState> {
  const now = deps.clock();
  const state: RecoveryState = {
    input,
    attempt: 1,
    startedAt: now,
    deadlineAt: now + input.playbook.timeout_seconds * 1000,
    phase: 'remediate',
    outcome: 'verify',
    wait: { seconds: 1 },
  };
  const found = await deps.tickets.getTicket(input.ticketId);
  if (found === undefined) {
    return escalateUntried(state, `ticket ${input.ticketId} does not exist; nothing was changed`);
  }
  const status = found.ticket.status;
  if (RESOLVED.has(status)) {
    deps.logger.info('ticket already resolved; the workflow leaves it alone', {
      ticketId: input.ticketId,
      status,
    });
    return { ...state, outcome: 'skip' };
  }
  if (status === 'open') {
    try {
      await deps.tickets.transition(input.ticketId, {
        from: ['open'],
        to: 'in_progress',
        // The execution name too: should the intake's own move lose the race, the reconciler still
        // finds the execution of this in_progress ticket.
        patch: {
          recoveryStatus: input.playbook.mode === 'shadow' ? 'shadow' : 'in_progress',
          executionName: executionNameFor(input.ticketId, input.retry),
        },
        audit: {
          event: 'workflow_took_over',
          actor: deps.actor ?? 'workflow',
          details: { mode: input.playbook.mode },
        },
      });
    } catch (error) {
      // The intake moved it first: the ticket is in_progress either way.
      if (!(error instanceof TicketStateError) || error.currentStatus !== 'in_progress') throw error;
    }
  }
  return state;
}
