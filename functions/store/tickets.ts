import { setTimeout as sleep } from 'node:timers/promises';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { SlotRequest } from '../core/fleet.ts';
import { executionNameFor } from '../core/incident.ts';
import { START_PENDING } from '../core/recovery-status.ts';
import {
  type AuditEntry,
  type AuditEvent,
  auditEntry,
  CapFullError,
  checkTransition,
  isMarked,
  nextTicket,
  type OccurrenceMark,
  type OpenTicketGuarded,
  type OpenTicketInput,
  type OpenTicketResult,
  type OpenTicketSilenced,
  type Ticket,
  TicketConflictError,
  TicketNotFoundError,
  TicketNumbers,
  type TicketPage,
  type TicketStatus,
  type TicketWithAudit,
  type TransitionInput,
  type TransitionResult,
} from '../core/ticket.ts';
import { backoffMs, cancellationCodes, cancellationReasons } from './dynamo.ts';
import { acquireSlotItem } from './recovery-cap.ts';
import { type RepositoryOptions, retentionSeconds } from './repository.ts';
import {
  auditItem,
  markerItem,
  markerKey,
  type TicketTable,
  type TransactItems,
  ticketItem,
  ticketKey,
} from './ticket-items.ts';
import { openTicket } from './ticket-open.ts';
import { pointerUpdates, recordOccurrence } from './ticket-pointers.ts';
import * as reads from './ticket-reads.ts';

export interface TicketRepositoryOptions extends RepositoryOptions {
  /** Audit items expire (DynamoDB TTL) this long after they were written. Tickets never expire. @default 90 */
  readonly auditRetentionDays?: number;
  /** Attempts of one write under transaction conflicts. @default 10 */
  readonly maxAttempts?: number;
}

/**
 * Tickets as the workflow and the start path use them: read, listed, moved through their lifecycle
 * and audited. Opening them (the incident path) is `TicketRepository`'s, below: a function that opens
 * none (the workflow task) builds this one, and its bundle leaves the opening out.
 */
export class TicketLifecycle {
  protected readonly table: TicketTable;

  constructor(options: TicketRepositoryOptions) {
    this.table = {
      client: options.client,
      tableName: options.tableName,
      clock: options.clock ?? Date.now,
      auditRetentionSeconds: retentionSeconds(options.auditRetentionDays),
      maxAttempts: options.maxAttempts ?? 10,
      numbers: new TicketNumbers(),
    };
  }

  /**
   * Moves the ticket to `to` if it is in one of the `from` statuses (and `to` follows in the
   * lifecycle), applying `patch` and appending the audit entry in the same transaction. Entering
   * `in_progress` sets `acknowledgedAt`/`ackSeconds` (once); entering closed, escalated or suppressed
   * sets `resolvedAt`/`resolutionSeconds` (again when an escalated ticket is closed).
   */
  async transition(ticketId: string, input: TransitionInput): Promise<TransitionResult> {
    const table = this.table;
    for (let attempt = 1; attempt <= table.maxAttempts; attempt++) {
      const current = await reads.readTicket(table, ticketId);
      if (current === undefined) throw new TicketNotFoundError(ticketId);
      if (input.expectedVersion !== undefined && current.version !== input.expectedVersion) {
        throw new TicketConflictError(
          ticketId,
          `expected version ${input.expectedVersion}, found ${current.version}`,
        );
      }
      checkTransition(current, input.from, input.to);

      const now = table.clock();
      const nowIso = new Date(now).toISOString();
      const next = nextTicket(current, input.to, input.patch ?? {}, now);
      const audit = auditEntry(ticketId, nowIso, {
        ...input.audit,
        details: { ...input.audit.details, fromStatus: current.status, toStatus: input.to },
      });
      const { items, capAt } = transitionItems(table, current, next, audit, input.capSlot, now);
      try {
        await table.client.send(new TransactWriteCommand({ TransactItems: items }));
        return { ticket: next, previousStatus: current.status, audit };
      } catch (error) {
        const codes = cancellationCodes(error);
        if (input.capSlot !== undefined && codes?.[capAt] === 'ConditionalCheckFailed') {
          const held = cancellationReasons(error)?.[capAt]?.Item;
          if (held === undefined || !(`slot#${ticketId}` in held))
            throw new CapFullError(input.capSlot.workspaceId, input.capSlot.cap);
        }
        if (
          codes === undefined ||
          !codes.some((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict')
        ) {
          throw error;
        }
        // Someone else wrote the ticket between our read and write: re-read and decide again.
        if (input.expectedVersion !== undefined) {
          throw new TicketConflictError(ticketId, `changed concurrently (was version ${current.version})`);
        }
        await sleep(backoffMs(attempt));
      }
    }
    throw new TicketConflictError(
      ticketId,
      `kept changing during ${table.maxAttempts} attempts to update it`,
    );
  }

  /** Appends one audit entry to an existing ticket. */
  async appendAudit(ticketId: string, event: AuditEvent): Promise<AuditEntry> {
    const table = this.table;
    const now = table.clock();
    const entry = auditEntry(ticketId, new Date(now).toISOString(), event);
    try {
      await table.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: table.tableName,
                Key: ticketKey(ticketId),
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
            { Put: { TableName: table.tableName, Item: auditItem(table, entry, now) } },
          ],
        }),
      );
    } catch (error) {
      if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') throw new TicketNotFoundError(ticketId);
      throw error;
    }
    return entry;
  }

  /** The ticket and its audit trail, oldest entry first, or undefined if there is no such ticket. */
  async getTicket(ticketId: string): Promise<TicketWithAudit | undefined> {
    return reads.getTicket(this.table, ticketId);
  }

  /** Tickets in `status`, oldest detection first (eventually consistent: it reads the index). */
  async listByStatus(status: TicketStatus, limit = 50, cursor?: string): Promise<TicketPage> {
    return reads.listByStatus(this.table, status, limit, cursor);
  }

  /**
   * Tickets whose workflow has not started yet (recovery status `start_pending`), oldest first, for
   * the poller's reconciler. One Query on the marker partition, then one consistent BatchGet.
   */
  async listStartPending(limit = 50, cursor?: string): Promise<TicketPage> {
    return this.listMarked(START_PENDING, limit, cursor);
  }

  /**
   * Open tickets in one of the `MARKED_RECOVERY_STATUSES` (start_pending, queued, awaiting_approval),
   * oldest detection first: one Query on the marker partition, then one consistent BatchGet.
   */
  async listMarked(recoveryStatus: string, limit = 50, cursor?: string): Promise<TicketPage> {
    return reads.listMarked(this.table, recoveryStatus, limit, cursor);
  }
}

/**
 * Tickets, their audit trail and the items that point at them, in the single table (the layout is in
 * `ticket-items.ts`). Opening is `ticket-open.ts`, the pointers and occurrences `ticket-pointers.ts`,
 * the reads `ticket-reads.ts`; the transitions are `TicketLifecycle`'s, above.
 */
export class TicketRepository extends TicketLifecycle {
  /**
   * Opens the incident's ticket exactly once, in ONE TransactWriteItems and without reading first:
   * - the incident item, conditional on the incident not existing (same key = same failure);
   * - the cluster claim (`clusterClaim`), conditional on the cluster having no open ticket — taken
   *   (`take`) by a cluster failure and held until the ticket is resolved, or only checked
   *   (`check`) by a job failure no cluster explains;
   * - the ticket (conditional on its number being free), its first audit entry, the start-pending
   *   marker;
   * - a ConditionCheck per breaker scope (`breakerScopes`): each must be absent or closed;
   * - a ConditionCheck per silence scope (`silenceScopes`): its marker absent or run out.
   *
   * A duplicate learns the existing ticket from the cancellation reason
   * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`): nothing is read. A breaker that is not closed
   * cancels the write too; it is then written without the breaker checks (`breakersClosed: false`)
   * and the caller asks the breakers properly. A silence in force writes nothing (`silenced`): the
   * caller reads the silences and opens the ticket as it decides. A taken number moves to the next one.
   */
  async openTicket(input: OpenTicketInput): Promise<OpenTicketResult> {
    const opened = await this.openTicketUnlessSilenced(input, []);
    if (opened.outcome === 'silenced') throw new Error('no silence scope was checked');
    if (opened.outcome === 'guarded') throw new Error('the guard item of the ticket failed its condition');
    return opened;
  }

  /**
   * `openTicket`, with a ConditionCheck per silence scope (`silenceScopesFor`): its marker absent or
   * run out. With a silence in force nothing is written (`silenced`).
   */
  async openTicketUnlessSilenced(
    input: OpenTicketInput,
    scopes: readonly string[],
  ): Promise<OpenTicketResult | OpenTicketSilenced | OpenTicketGuarded> {
    return openTicket(this.table, input, scopes);
  }

  /**
   * Attaches a further signal about an open incident to its ticket: the ticket's occurrence counter
   * (item `OCCURRENCES` in the ticket's partition, so the ticket is never rewritten and never
   * conflicts with the workflow's transitions), an `occurrence` audit entry and, with `news`, the mark
   * on the pointer item that answered the duplicate — so the same news from the same source is
   * recorded once — in one write. A pointer deleted meanwhile (the claim of a ticket just resolved)
   * is not re-created: the occurrence is recorded without the mark.
   */
  async recordOccurrence(ticketId: string, event: AuditEvent, news?: OccurrenceMark): Promise<void> {
    return recordOccurrence(this.table, ticketId, event, news);
  }
}

/**
 * A transition's write: the ticket (conditional on the version and status read), its audit entry, the
 * reconciler marker moved with the recovery status, the pointers kept in step and, with `capSlot`, a
 * slot of the cap taken (`capAt`: its index, -1 without one).
 */
function transitionItems(
  table: TicketTable,
  current: Ticket,
  next: Ticket,
  audit: AuditEntry,
  capSlot: SlotRequest | undefined,
  now: number,
): { readonly items: TransactItems; readonly capAt: number } {
  const { tableName } = table;
  const items: TransactItems = [
    {
      Put: {
        TableName: tableName,
        Item: ticketItem(next),
        ConditionExpression: '#version = :version AND #status = :status',
        ExpressionAttributeNames: { '#version': 'version', '#status': 'status' },
        ExpressionAttributeValues: { ':version': current.version, ':status': current.status },
      },
    },
    { Put: { TableName: tableName, Item: auditItem(table, audit, now) } },
  ];
  const markedBefore = isMarked(current) ? markerKey(current) : undefined;
  const markedAfter = isMarked(next) ? markerKey(next) : undefined;
  if (markedBefore?.pk !== markedAfter?.pk || markedBefore?.sk !== markedAfter?.sk) {
    if (markedBefore !== undefined) items.push({ Delete: { TableName: tableName, Key: markedBefore } });
    if (markedAfter !== undefined) items.push({ Put: { TableName: tableName, Item: markerItem(next) } });
  }
  items.push(...pointerUpdates(tableName, current, next));
  const capAt = capSlot === undefined ? -1 : items.length;
  if (capSlot !== undefined) {
    const executionName = executionNameFor(next.ticketId, next.retries);
    items.push(acquireSlotItem(tableName, capSlot, next.ticketId, executionName, now));
  }
  return { items, capAt };
}
