/**
 * How the reconciler writes what it settled: a ticket move that another writer may have overtaken
 * (left alone then), and what a settled ticket means to its circuit breakers.
 */
import { type BreakerOutcomeStore, breakerScopes, recordBreakerOutcome } from '../core/breaker.ts';
import {
  type AuditEvent,
  type Ticket,
  TicketStateError,
  type TicketStatus,
  type TransitionInput,
  type TransitionResult,
} from '../core/ticket.ts';

export interface MoveDeps {
  readonly tickets: { transition(ticketId: string, input: TransitionInput): Promise<TransitionResult> };
  readonly logger: { info(message: string, ...extra: Record<string, unknown>[]): void };
}

/** A transition that another writer may have overtaken; false when it did. */
export async function moveTicket(
  deps: MoveDeps,
  ticket: Ticket,
  from: readonly TicketStatus[],
  to: TicketStatus,
  patch: TransitionInput['patch'],
  audit: AuditEvent,
): Promise<boolean> {
  try {
    await deps.tickets.transition(ticket.ticketId, {
      from,
      to,
      ...(patch === undefined ? {} : { patch }),
      audit,
      expectedVersion: ticket.version,
    });
    return true;
  } catch (error) {
    const name = (error as Error).name;
    if (error instanceof TicketStateError || name === 'TicketConflictError') {
      deps.logger.info('ticket changed meanwhile; the reconciler leaves it', { ticketId: ticket.ticketId });
      return false;
    }
    throw error;
  }
}

/**
 * What a settled ticket means to its breakers. A shadow-mode recovery changed nothing, so like the
 * workflow's own Escalate step it only gives back its probe; so does a ticket settled without the
 * recovery's outcome being known (unconfirmed, execution missing, held, escalated before start).
 */
export async function settleBreakers(
  deps: {
    readonly breakers: BreakerOutcomeStore;
    readonly logger: { warn(message: string, ...extra: Record<string, unknown>[]): void };
    readonly metrics: { count(name: string, value?: number): void };
  },
  ticket: Ticket,
  outcome: 'success' | 'failure' | 'release',
): Promise<void> {
  const what = ticket.recoveryStatus === 'shadow' ? 'release' : outcome;
  const changes = await recordBreakerOutcome(deps.breakers, breakerScopes(ticket), ticket.ticketId, what);
  for (const change of changes.filter((c) => c.transition === 'opened')) {
    // The seed's "circuit breaker opened" alert counts this metric, whoever opened the breaker.
    deps.logger.warn('circuit breaker opened', { scope: change.scope, ticketId: ticket.ticketId });
    deps.metrics.count('CircuitBreakersOpened', 1);
  }
}
