import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Action, Category, ErrorType } from '../core/error-types.ts';
import type { SignalSource } from '../core/signal.ts';
import {
  backoffMs,
  cancellationCodes,
  compact,
  type DocumentClient,
  decodeCursor,
  encodeCursor,
  withoutKeys,
} from './dynamo.ts';

export type TicketStatus = 'open' | 'in_progress' | 'closed' | 'escalated' | 'suppressed';

/** Statuses in which the automation is done with a ticket; entering one sets `resolvedAt`. */
export const RESOLVED_STATUSES: readonly TicketStatus[] = ['closed', 'escalated', 'suppressed'];

/**
 * Which status may follow which. Callers narrow this further with `from`. An escalated ticket can still
 * be closed (a human fixed it); closed and suppressed tickets are final.
 */
export const TICKET_LIFECYCLE: Readonly<Record<TicketStatus, readonly TicketStatus[]>> = {
  open: ['open', 'in_progress', 'closed', 'escalated', 'suppressed'],
  in_progress: ['in_progress', 'closed', 'escalated', 'suppressed'],
  escalated: ['escalated', 'closed'],
  closed: ['closed'],
  suppressed: ['suppressed'],
};

import { START_PENDING } from '../core/recovery-status.ts';

export { START_PENDING };

/**
 * What the intake decided about the recovery. An open string: these are the values in use today.
 * `start_pending` tickets are listed by `listStartPending`.
 */
export type RecoveryStatus =
  | 'in_progress'
  | 'disabled'
  | 'blocked'
  | 'shadow'
  | 'not_applicable'
  | typeof START_PENDING
  | (string & Record<never, never>);

export interface Ticket {
  /** `RCA-YYYYMMDD-NNN`, the UTC date of detection and a per-day sequence. */
  readonly ticketId: string;
  readonly incidentKey: string;
  readonly status: TicketStatus;
  readonly recoveryStatus: RecoveryStatus;
  readonly workspaceId: string;
  readonly clusterId?: string;
  readonly clusterName?: string;
  readonly jobId?: string;
  readonly runId?: string;
  readonly source: SignalSource;
  readonly errorType: ErrorType;
  readonly category: Category;
  readonly action: Action;
  readonly reason: string;
  readonly terminationCode?: string;
  readonly terminationType?: string;
  /** ISO timestamps. */
  readonly detectedAt: string;
  readonly acknowledgedAt?: string;
  readonly resolvedAt?: string;
  /** acknowledgedAt − detectedAt in seconds (the seed dashboard's `ack_seconds`). */
  readonly ackSeconds?: number;
  /** resolvedAt − detectedAt in seconds. */
  readonly resolutionSeconds?: number;
  /** The Step Functions execution name of the recovery workflow. */
  readonly executionName?: string;
  readonly attempts: number;
  readonly escalationReason?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Incremented on every write; writes are conditional on the version read. */
  readonly version: number;
}

/** Fields a transition may change besides the status. */
export type TicketPatch = Partial<
  Pick<
    Ticket,
    | 'recoveryStatus'
    | 'executionName'
    | 'attempts'
    | 'escalationReason'
    | 'action'
    | 'reason'
    | 'errorType'
    | 'category'
    | 'clusterName'
  >
>;

export interface AuditEvent {
  /** What happened, snake_case: `ticket_opened`, `workflow_started`, `health_check_failed`, … */
  readonly event: string;
  /** Who did it: `intake`, `poller`, `workflow`, an operator's name. */
  readonly actor: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditEntry extends AuditEvent {
  readonly ticketId: string;
  /** ISO timestamp. */
  readonly at: string;
}

export interface OpenTicketInput
  extends Omit<
    Ticket,
    | 'ticketId'
    | 'status'
    | 'detectedAt'
    | 'acknowledgedAt'
    | 'resolvedAt'
    | 'ackSeconds'
    | 'resolutionSeconds'
    | 'attempts'
    | 'createdAt'
    | 'updatedAt'
    | 'version'
  > {
  /** ISO timestamp of detection; its UTC date names the ticket. @default now */
  readonly detectedAt?: string;
  /** @default 0 */
  readonly attempts?: number;
  /** The first audit entry. @default { event: 'ticket_opened', actor: source } */
  readonly audit?: Partial<AuditEvent>;
}

export interface OpenTicketResult {
  /** `duplicate`: the incident already had a ticket, which is returned unchanged. */
  readonly outcome: 'created' | 'duplicate';
  readonly ticket: Ticket;
}

export interface TransitionInput {
  /** The statuses the ticket may be in now; anything else is a `TicketStateError`. */
  readonly from: readonly TicketStatus[];
  readonly to: TicketStatus;
  readonly patch?: TicketPatch;
  readonly audit: AuditEvent;
  /** Fail with `TicketConflictError` instead of re-reading if the ticket is no longer at this version. */
  readonly expectedVersion?: number;
}

export interface TransitionResult {
  readonly ticket: Ticket;
  readonly previousStatus: TicketStatus;
  readonly audit: AuditEntry;
}

export interface TicketWithAudit {
  readonly ticket: Ticket;
  /** Oldest first. */
  readonly audit: readonly AuditEntry[];
}

export interface TicketPage {
  readonly tickets: readonly Ticket[];
  /** Pass back to get the next page; absent on the last page. */
  readonly cursor?: string;
}

export class TicketNotFoundError extends Error {
  override readonly name = 'TicketNotFoundError';
  readonly ticketId: string;
  constructor(ticketId: string) {
    super(`ticket ${ticketId} does not exist`);
    this.ticketId = ticketId;
  }
}

/** The ticket is in a status the requested transition does not start from. */
export class TicketStateError extends Error {
  override readonly name = 'TicketStateError';
  readonly ticketId: string;
  readonly currentStatus: TicketStatus;
  readonly requestedStatus: TicketStatus;
  constructor(
    ticketId: string,
    currentStatus: TicketStatus,
    requestedStatus: TicketStatus,
    allowed: readonly string[],
  ) {
    super(
      `ticket ${ticketId} is ${currentStatus}; it cannot move to ${requestedStatus} ` +
        `(allowed from: ${allowed.join(', ') || 'nothing'})`,
    );
    this.ticketId = ticketId;
    this.currentStatus = currentStatus;
    this.requestedStatus = requestedStatus;
  }
}

/** Another writer changed the ticket (an `expectedVersion` mismatch, or contention that did not settle). */
export class TicketConflictError extends Error {
  override readonly name = 'TicketConflictError';
  readonly ticketId: string;
  constructor(ticketId: string, message: string) {
    super(`ticket ${ticketId}: ${message}`);
    this.ticketId = ticketId;
  }
}

export interface TicketRepositoryOptions {
  readonly client: DocumentClient;
  readonly tableName: string;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Audit items expire (DynamoDB TTL) this long after they were written. Tickets never expire. @default 90 */
  readonly auditRetentionDays?: number;
  /** Attempts of one write under transaction conflicts. @default 10 */
  readonly maxAttempts?: number;
}

const TICKET_SK = 'TICKET';
const INCIDENT_SK = 'INCIDENT';
const COUNTER_SK = 'COUNTER';
const RECONCILE_PK = `RECONCILE#${START_PENDING}`;

/**
 * Tickets, their audit trail and the incident de-duplication key, in the single table:
 *
 * | item             | pk                       | sk                          | gsi1pk / gsi1sk                     |
 * |------------------|--------------------------|-----------------------------|-------------------------------------|
 * | ticket           | `TICKET#<id>`            | `TICKET`                    | `STATUS#<status>` / `<detectedAt>#<id>` |
 * | audit entry      | `TICKET#<id>`            | `AUDIT#<at>#<suffix>`       | — (has `expires_at`)                |
 * | incident         | `INCIDENT#<incidentKey>` | `INCIDENT`                  | —                                   |
 * | day counter      | `COUNTER#<YYYYMMDD>`     | `COUNTER`                   | —                                   |
 * | start-pending    | `RECONCILE#start_pending`| `<detectedAt>#<id>`         | —                                   |
 *
 * The start-pending marker exists exactly while an unresolved ticket has recovery status
 * `start_pending`; it is written and deleted in the same transaction as the ticket, so the reconciler
 * finds those tickets with one Query instead of filtering every open ticket.
 */
export class TicketRepository {
  readonly #client: DocumentClient;
  readonly #tableName: string;
  readonly #clock: () => number;
  readonly #auditRetentionSeconds: number;
  readonly #maxAttempts: number;

  constructor(options: TicketRepositoryOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#clock = options.clock ?? Date.now;
    this.#auditRetentionSeconds = Math.round((options.auditRetentionDays ?? 90) * 24 * 3600);
    this.#maxAttempts = options.maxAttempts ?? 10;
  }

  /**
   * Opens the incident's ticket exactly once. The incident item, the ticket and its first audit entry
   * are written in one transaction conditional on the incident not existing; every other caller gets
   * the existing ticket with `outcome: 'duplicate'`. A lost race can leave a gap in the day's numbers,
   * never a duplicate.
   */
  async openTicket(input: OpenTicketInput): Promise<OpenTicketResult> {
    const known = await this.#ticketForIncident(input.incidentKey);
    if (known !== undefined) return { outcome: 'duplicate', ticket: known };

    const now = this.#clock();
    const nowIso = new Date(now).toISOString();
    const detectedAt = normaliseIso(input.detectedAt ?? nowIso, 'detectedAt');
    const day = detectedAt.slice(0, 10).replaceAll('-', '');
    let ticketId = await this.#nextTicketId(day);

    const { audit: auditInput, detectedAt: _detectedAt, attempts, ...fields } = input;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const ticket: Ticket = compact({
        ...fields,
        ticketId,
        status: 'open',
        detectedAt,
        attempts: attempts ?? 0,
        createdAt: nowIso,
        updatedAt: nowIso,
        version: 1,
      });
      const audit = auditEntry(ticketId, nowIso, {
        event: auditInput?.event ?? 'ticket_opened',
        actor: auditInput?.actor ?? input.source,
        details: auditInput?.details ?? { incidentKey: input.incidentKey, errorType: input.errorType },
      });
      const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [
        {
          Put: {
            TableName: this.#tableName,
            Item: {
              pk: incidentPk(input.incidentKey),
              sk: INCIDENT_SK,
              incidentKey: input.incidentKey,
              ticketId,
              createdAt: nowIso,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: this.#tableName,
            Item: this.#ticketItem(ticket),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        { Put: { TableName: this.#tableName, Item: this.#auditItem(audit, now) } },
      ];
      if (isStartPending(ticket))
        items.push({ Put: { TableName: this.#tableName, Item: markerItem(ticket) } });

      try {
        await this.#client.send(new TransactWriteCommand({ TransactItems: items }));
        return { outcome: 'created', ticket };
      } catch (error) {
        const codes = cancellationCodes(error);
        if (codes === undefined) throw error;
        if (codes[0] === 'ConditionalCheckFailed') {
          const existing = await this.#ticketForIncident(input.incidentKey);
          if (existing !== undefined) return { outcome: 'duplicate', ticket: existing };
          throw new TicketConflictError(ticketId, `incident ${input.incidentKey} exists without its ticket`);
        }
        if (codes[1] === 'ConditionalCheckFailed') {
          // The number is taken (the day counter was reset by hand): take the next one.
          ticketId = await this.#nextTicketId(day);
          continue;
        }
        if (!codes.includes('TransactionConflict')) throw error;
        // A concurrent transaction on the same incident is in flight; it has probably won.
        await sleep(backoffMs(attempt));
        const winner = await this.#ticketForIncident(input.incidentKey);
        if (winner !== undefined) return { outcome: 'duplicate', ticket: winner };
      }
    }
    throw new TicketConflictError(
      ticketId,
      `could not open a ticket for ${input.incidentKey} under contention`,
    );
  }

  /**
   * Moves the ticket to `to` if it is in one of the `from` statuses (and `to` follows in the
   * lifecycle), applying `patch` and appending the audit entry in the same transaction. Entering
   * `in_progress` sets `acknowledgedAt`/`ackSeconds` (once); entering closed, escalated or suppressed
   * sets `resolvedAt`/`resolutionSeconds` (again when an escalated ticket is closed).
   */
  async transition(ticketId: string, input: TransitionInput): Promise<TransitionResult> {
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const current = await this.#readTicket(ticketId);
      if (current === undefined) throw new TicketNotFoundError(ticketId);
      if (input.expectedVersion !== undefined && current.version !== input.expectedVersion) {
        throw new TicketConflictError(
          ticketId,
          `expected version ${input.expectedVersion}, found ${current.version}`,
        );
      }
      if (!input.from.includes(current.status) || !TICKET_LIFECYCLE[current.status].includes(input.to)) {
        const allowed = input.from.filter((status) => TICKET_LIFECYCLE[status].includes(input.to));
        throw new TicketStateError(ticketId, current.status, input.to, allowed);
      }

      const now = this.#clock();
      const nowIso = new Date(now).toISOString();
      const next = nextTicket(current, input.to, input.patch ?? {}, now);
      const audit = auditEntry(ticketId, nowIso, {
        ...input.audit,
        details: { ...input.audit.details, fromStatus: current.status, toStatus: input.to },
      });
      const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [
        {
          Put: {
            TableName: this.#tableName,
            Item: this.#ticketItem(next),
            ConditionExpression: '#version = :version AND #status = :status',
            ExpressionAttributeNames: { '#version': 'version', '#status': 'status' },
            ExpressionAttributeValues: { ':version': current.version, ':status': current.status },
          },
        },
        { Put: { TableName: this.#tableName, Item: this.#auditItem(audit, now) } },
      ];
      const pendingBefore = isStartPending(current);
      const pendingAfter = isStartPending(next);
      if (pendingAfter && !pendingBefore) {
        items.push({ Put: { TableName: this.#tableName, Item: markerItem(next) } });
      } else if (pendingBefore && !pendingAfter) {
        items.push({ Delete: { TableName: this.#tableName, Key: markerKey(current) } });
      }

      try {
        await this.#client.send(new TransactWriteCommand({ TransactItems: items }));
        return { ticket: next, previousStatus: current.status, audit };
      } catch (error) {
        const codes = cancellationCodes(error);
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
      `kept changing during ${this.#maxAttempts} attempts to update it`,
    );
  }

  /** Appends one audit entry to an existing ticket. */
  async appendAudit(ticketId: string, event: AuditEvent): Promise<AuditEntry> {
    const now = this.#clock();
    const entry = auditEntry(ticketId, new Date(now).toISOString(), event);
    try {
      await this.#client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.#tableName,
                Key: ticketKey(ticketId),
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
            { Put: { TableName: this.#tableName, Item: this.#auditItem(entry, now) } },
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
    let ticket: Ticket | undefined;
    const audit: AuditEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': ticketPk(ticketId) },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.sk === TICKET_SK) ticket = withoutKeys(item) as unknown as Ticket;
        else audit.push(withoutKeys(item) as unknown as AuditEntry);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return ticket === undefined ? undefined : { ticket, audit };
  }

  /** Tickets in `status`, oldest detection first (eventually consistent: it reads the index). */
  async listByStatus(status: TicketStatus, limit = 50, cursor?: string): Promise<TicketPage> {
    const page = await this.#client.send(
      new QueryCommand({
        TableName: this.#tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': statusPk(status) },
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor),
      }),
    );
    const tickets = (page.Items ?? []).map((item) => withoutKeys(item) as unknown as Ticket);
    const next = encodeCursor(page.LastEvaluatedKey);
    return next === undefined ? { tickets } : { tickets, cursor: next };
  }

  /**
   * Tickets whose workflow has not started yet (recovery status `start_pending`), oldest first, for
   * the poller's reconciler. One Query on the marker partition, then one consistent BatchGet.
   */
  async listStartPending(limit = 50, cursor?: string): Promise<TicketPage> {
    const page = await this.#client.send(
      new QueryCommand({
        TableName: this.#tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': RECONCILE_PK },
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor),
      }),
    );
    const ids = (page.Items ?? []).map((item) => String(item.ticketId));
    const byId = await this.#batchGetTickets(ids);
    const tickets = ids
      .map((id) => byId.get(id))
      .filter((ticket): ticket is Ticket => ticket !== undefined && isStartPending(ticket));
    const next = encodeCursor(page.LastEvaluatedKey);
    return next === undefined ? { tickets } : { tickets, cursor: next };
  }

  async #batchGetTickets(ids: readonly string[]): Promise<Map<string, Ticket>> {
    const found = new Map<string, Ticket>();
    // BatchGetItem takes at most 100 keys.
    for (let start = 0; start < ids.length; start += 100) {
      let keys: Record<string, unknown>[] = ids.slice(start, start + 100).map(ticketKey);
      for (let attempt = 1; keys.length > 0; attempt++) {
        if (attempt > this.#maxAttempts)
          throw new Error(`could not read ${keys.length} tickets: DynamoDB kept them unprocessed`);
        const result = await this.#client.send(
          new BatchGetCommand({ RequestItems: { [this.#tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of result.Responses?.[this.#tableName] ?? []) {
          const ticket = withoutKeys(item) as unknown as Ticket;
          found.set(ticket.ticketId, ticket);
        }
        keys = result.UnprocessedKeys?.[this.#tableName]?.Keys ?? [];
        if (keys.length > 0) await sleep(backoffMs(attempt));
      }
    }
    return found;
  }

  async #readTicket(ticketId: string): Promise<Ticket | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: ticketKey(ticketId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : (withoutKeys(Item) as unknown as Ticket);
  }

  async #ticketForIncident(incidentKey: string): Promise<Ticket | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: { pk: incidentPk(incidentKey), sk: INCIDENT_SK },
        ConsistentRead: true,
      }),
    );
    if (Item === undefined) return undefined;
    const ticketId = String(Item.ticketId);
    const ticket = await this.#readTicket(ticketId);
    if (ticket === undefined) throw new TicketNotFoundError(ticketId);
    return ticket;
  }

  /** Takes the next number of the day from an atomic counter. */
  async #nextTicketId(day: string): Promise<string> {
    const { Attributes } = await this.#client.send(
      new UpdateCommand({
        TableName: this.#tableName,
        Key: { pk: `COUNTER#${day}`, sk: COUNTER_SK },
        UpdateExpression: 'ADD #n :one',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const n = Number(Attributes?.n);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new Error(`the ticket counter for ${day} returned ${String(Attributes?.n)}`);
    return formatTicketId(day, n);
  }

  #ticketItem(ticket: Ticket): Record<string, unknown> {
    return {
      ...ticket,
      ...ticketKey(ticket.ticketId),
      gsi1pk: statusPk(ticket.status),
      gsi1sk: `${ticket.detectedAt}#${ticket.ticketId}`,
    };
  }

  #auditItem(entry: AuditEntry, nowMs: number): Record<string, unknown> {
    return {
      ...entry,
      pk: ticketPk(entry.ticketId),
      sk: `AUDIT#${entry.at}#${uniqueSuffix()}`,
      expires_at: Math.floor(nowMs / 1000) + this.#auditRetentionSeconds,
    };
  }
}

/** `RCA-YYYYMMDD-NNN`; the number is zero-padded to at least three digits. */
export function formatTicketId(day: string, n: number): string {
  return `RCA-${day}-${String(n).padStart(3, '0')}`;
}

function nextTicket(current: Ticket, to: TicketStatus, patch: TicketPatch, now: number): Ticket {
  const nowIso = new Date(now).toISOString();
  const detected = Date.parse(current.detectedAt);
  const secondsSinceDetection = Math.max(0, (now - detected) / 1000);
  const entering = to !== current.status;
  const timestamps: Partial<Ticket> = {};
  if (entering && to === 'in_progress' && current.acknowledgedAt === undefined) {
    Object.assign(timestamps, { acknowledgedAt: nowIso, ackSeconds: secondsSinceDetection });
  }
  if (entering && RESOLVED_STATUSES.includes(to)) {
    Object.assign(timestamps, { resolvedAt: nowIso, resolutionSeconds: secondsSinceDetection });
  }
  return compact({
    ...current,
    ...patch,
    ...timestamps,
    status: to,
    updatedAt: nowIso,
    version: current.version + 1,
  });
}

function auditEntry(ticketId: string, at: string, event: AuditEvent): AuditEntry {
  const entry: AuditEntry = { ticketId, at, event: event.event, actor: event.actor };
  // A JSON round trip drops undefined values DynamoDB cannot store and anything not serialisable.
  return event.details === undefined
    ? entry
    : { ...entry, details: JSON.parse(JSON.stringify(event.details)) };
}

let auditSequence = 0;

/**
 * Orders entries written in the same millisecond by this process, and keeps entries from other
 * processes in the same millisecond apart.
 */
function uniqueSuffix(): string {
  auditSequence = (auditSequence + 1) % 0x1_0000_0000;
  return `${auditSequence.toString(16).padStart(8, '0')}${randomBytes(4).toString('hex')}`;
}

function isStartPending(ticket: Ticket): boolean {
  return ticket.recoveryStatus === START_PENDING && !RESOLVED_STATUSES.includes(ticket.status);
}

function markerKey(ticket: Ticket): { pk: string; sk: string } {
  return { pk: RECONCILE_PK, sk: `${ticket.detectedAt}#${ticket.ticketId}` };
}

function markerItem(ticket: Ticket): Record<string, unknown> {
  return { ...markerKey(ticket), ticketId: ticket.ticketId, detectedAt: ticket.detectedAt };
}

function ticketPk(ticketId: string): string {
  return `TICKET#${ticketId}`;
}

function ticketKey(ticketId: string): { pk: string; sk: string } {
  return { pk: ticketPk(ticketId), sk: TICKET_SK };
}

function incidentPk(incidentKey: string): string {
  return `INCIDENT#${incidentKey}`;
}

function statusPk(status: TicketStatus): string {
  return `STATUS#${status}`;
}

function normaliseIso(value: string, field: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new RangeError(`${field} must be an ISO timestamp, got ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}
