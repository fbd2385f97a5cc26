/**
 * The operations API's tickets: list and read them, and re-drive one (or every `disabled` one) through
 * the normal path — it becomes start_pending and the reconciler's start takes it from there, audited
 * on the ticket. Nothing here touches a cluster.
 */

import { APPROVAL_TIMED_OUT, AWAITING_APPROVAL, DENIED, QUEUED } from '../core/fleet.ts';
import { HELD_BY_OUTAGE, OUTAGE_ESCALATED } from '../core/outage.ts';
import { START_PENDING } from '../core/recovery-status.ts';
import { isActive, matches } from '../core/silence.ts';
import {
  TICKET_STATUSES,
  type Ticket,
  type TicketPage,
  type TicketStatus,
  type TicketWithAudit,
} from '../core/ticket.ts';
import * as z from '../core/zod.ts';
import { HttpError } from '../intake/http.ts';
import { settleAll } from '../poller/limit.ts';
import { startPendingTicket } from '../poller/reconcile.ts';
import { InvalidCursorError } from '../store/dynamo.ts';
import { type OpsDeps, RETRY_BATCH, type RetryBatchLimits } from './deps.ts';
import { durationMs, parseBody } from './input.ts';

/** Tickets an operator may re-drive: escalated, held by a silence, or held while remediation was off. */
function retryable(ticket: Ticket): boolean {
  return (
    ticket.status === 'escalated' ||
    ticket.status === 'silenced' ||
    (ticket.status === 'open' && ticket.recoveryStatus === 'disabled')
  );
}

export async function listTickets(
  query: { status?: string; cluster?: string; since?: string },
  deps: OpsDeps,
): Promise<Ticket[]> {
  const sinceMs = deps.clock() - durationMs(query.since ?? '24h', 'since');
  const statuses = statusFilter(query.status);
  const tickets = await deps.queries.detectedSince(new Date(sinceMs).toISOString(), statuses.ticketStatuses);
  return tickets.filter(
    (t) =>
      (statuses.recoveryStatus === undefined || t.recoveryStatus === statuses.recoveryStatus) &&
      (query.cluster === undefined || t.clusterId === query.cluster),
  );
}

/**
 * `--status` names what is held beside the ticket statuses: a recovery status within one ticket
 * status. A new held state goes here (or becomes a ticket status of its own, like `silenced`).
 */
const HELD_RECOVERY_STATUSES: Readonly<Record<string, TicketStatus>> = {
  disabled: 'open',
  blocked: 'escalated',
  [QUEUED]: 'open',
  [AWAITING_APPROVAL]: 'open',
  [DENIED]: 'closed',
  [APPROVAL_TIMED_OUT]: 'escalated',
  [HELD_BY_OUTAGE]: 'open',
  [OUTAGE_ESCALATED]: 'escalated',
};

/**
 * `--status` takes a ticket status (`silenced` included), or a recovery status that holds or ended a
 * ticket: `disabled`, `blocked`, `queued`, `awaiting_approval`, `denied`, `approval_timed_out`.
 */
function statusFilter(status: string | undefined): {
  ticketStatuses: readonly TicketStatus[];
  recoveryStatus?: string;
} {
  if (status === undefined) return { ticketStatuses: TICKET_STATUSES };
  if ((TICKET_STATUSES as readonly string[]).includes(status))
    return { ticketStatuses: [status as TicketStatus] };
  const within = HELD_RECOVERY_STATUSES[status];
  if (within !== undefined) return { ticketStatuses: [within], recoveryStatus: status };
  throw new HttpError(
    400,
    `status must be one of ${[...TICKET_STATUSES, ...Object.keys(HELD_RECOVERY_STATUSES)].join(', ')}, not '${status}'`,
  );
}

export async function getTicket(id: string, deps: OpsDeps): Promise<TicketWithAudit> {
  const found = await deps.tickets.getTicket(id);
  if (found === undefined) throw new HttpError(404, `ticket ${id} does not exist`);
  return found;
}

export interface RetryOutcome {
  readonly ticketId: string;
  readonly retried: boolean;
  readonly status: string;
  readonly recoveryStatus: string;
  readonly message: string;
}

/**
 * Re-drives an escalated, disabled or silenced ticket through the normal path: it becomes
 * start_pending again and the reconciler's start (remediation switch, playbook, breakers, then the
 * workflow and its guard) takes it from there. Nothing here touches a cluster.
 */
export async function retryTicket(id: string, actor: string, deps: OpsDeps): Promise<RetryOutcome> {
  const { ticket } = await getTicket(id, deps);
  if (!retryable(ticket)) {
    throw new HttpError(
      409,
      `ticket ${id} is ${ticket.status} (recovery ${ticket.recoveryStatus}); only escalated, disabled or silenced tickets can be retried`,
    );
  }
  if (!deps.autoRemediationEnabled) {
    throw new HttpError(
      409,
      'AUTO_REMEDIATION_ENABLED is false: a retry would only be held again; switch it on first',
    );
  }
  const silence = (await deps.silences.list()).find(
    (s) =>
      isActive(s, deps.clock()) &&
      matches(s, {
        workspaceId: ticket.workspaceId,
        clusterId: ticket.clusterId,
        errorType: ticket.errorType,
      }),
  );
  if (silence !== undefined) {
    throw new HttpError(
      409,
      `silence ${silence.silenceId} still covers ticket ${id} until ${silence.until}; run \`rca silence remove ${silence.silenceId}\` first`,
    );
  }
  if (ticket.status === 'escalated' && ticket.clusterClaim !== undefined) {
    const holder = await deps.queries.claimHolder(ticket.clusterClaim);
    if (holder !== undefined && holder !== id) {
      throw new HttpError(
        409,
        `cluster ${ticket.clusterId} has a newer open ticket ${holder}; retry or follow that one instead`,
      );
    }
  }
  await deps.tickets.transition(id, {
    from: [ticket.status],
    to: 'open',
    expectedVersion: ticket.version,
    patch: {
      recoveryStatus: START_PENDING,
      // A ticket that had an execution needs a fresh one: an ended execution's name cannot be reused.
      ...(ticket.executionName === undefined ? {} : { retries: (ticket.retries ?? 0) + 1 }),
    },
    audit: {
      event: 'retry_requested',
      actor,
      details: { previousStatus: ticket.status, previousRecoveryStatus: ticket.recoveryStatus },
    },
  });
  await startPendingTicket(id, deps.start);
  const after = (await deps.tickets.getTicket(id))?.ticket ?? ticket;
  const started = after.status === 'in_progress' || after.recoveryStatus === 'in_progress';
  return {
    ticketId: id,
    retried: started,
    status: after.status,
    recoveryStatus: after.recoveryStatus,
    message: started
      ? 'Recovery re-started through the workflow (its guard re-reads the cluster before any change)'
      : `Not started: ticket is ${after.status} (${after.recoveryStatus})${after.escalationReason === undefined ? '' : `: ${after.escalationReason}`}`,
  };
}

export interface RetryBatch {
  readonly retried: readonly RetryOutcome[];
  /** Where the next call resumes (`cursor`); absent once every open ticket has been gone through. */
  readonly cursor?: string;
}

/**
 * The tickets left `disabled` while AUTO_REMEDIATION_ENABLED was false, re-driven a page of open
 * tickets at a time (a few at once) until the call's time budget is spent; the answer's `cursor`
 * resumes after the last page done, so thousands are all re-driven over a few calls, none twice.
 */
export async function retryDisabled(
  actor: string,
  deps: OpsDeps,
  cursorParam?: string,
  batch: RetryBatchLimits = deps.retryBatch ?? RETRY_BATCH,
): Promise<RetryBatch> {
  if (!deps.autoRemediationEnabled) {
    throw new HttpError(
      409,
      'AUTO_REMEDIATION_ENABLED is still false; switch it on, then retry the disabled tickets',
    );
  }
  const stopAt = deps.clock() + batch.budgetMs;
  const outcomes: RetryOutcome[] = [];
  let cursor = cursorParam;
  do {
    const page = await listPage(deps, 'open', batch.pageSize, cursor);
    const held = page.tickets.filter((t) => t.recoveryStatus === 'disabled').map((t) => t.ticketId);
    const settled = await settleAll(held, batch.concurrency, (id) => retryTicket(id, actor, deps));
    settled.forEach((result, i) => {
      const ticketId = held[i] ?? '';
      outcomes.push(
        result.status === 'fulfilled'
          ? result.value
          : {
              ticketId,
              retried: false,
              status: 'open',
              recoveryStatus: 'disabled',
              message: (result.reason as Error).message,
            },
      );
    });
    cursor = page.cursor;
  } while (cursor !== undefined && deps.clock() < stopAt);
  return cursor === undefined ? { retried: outcomes } : { retried: outcomes, cursor };
}

/** `{"cursor": "..."}` from the previous answer, or nothing to start from the beginning. */
export function retryCursor(body: unknown): string | undefined {
  return parseBody(
    z.strictObject({ cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2000))) }),
    body,
  ).cursor;
}

/** One page of tickets in `status`; a cursor this API did not hand out is the caller's 400. */
async function listPage(
  deps: OpsDeps,
  status: TicketStatus,
  limit: number,
  cursor: string | undefined,
): Promise<TicketPage> {
  try {
    return await deps.tickets.listByStatus(status, limit, cursor);
  } catch (error) {
    if (error instanceof InvalidCursorError) throw new HttpError(400, `cursor: ${error.message}`);
    throw error;
  }
}

/** Every ticket in `status` (silenced tickets are few: they wait for an operator). */
export async function listAll(deps: OpsDeps, status: TicketStatus): Promise<Ticket[]> {
  const all: Ticket[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.tickets.listByStatus(status, 100, cursor);
    all.push(...page.tickets);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return all;
}
