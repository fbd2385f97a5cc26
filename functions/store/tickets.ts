import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { Action, Category, ErrorType } from '../core/error-types.ts';
import { executionNameFor } from '../core/incident.ts';
import type { SignalSource } from '../core/signal.ts';
import { breakerKey } from './breakers.ts';
import {
  backoffMs,
  cancellationCodes,
  cancellationReasons,
  compact,
  type DocumentClient,
  decodeCursor,
  encodeCursor,
  queryAll,
  withoutKeys,
} from './dynamo.ts';
import { acquireSlotItem, type SlotRequest } from './recovery-cap.ts';
import { silenceClearCondition, silenceMarkerKey } from './silences.ts';

/**
 * Every ticket status. `silenced`: an operator's silence covered the failure when it was ticketed;
 * nothing was started and nothing will be until an operator retries it (`rca retry`).
 */
export const TICKET_STATUSES = [
  'open',
  'in_progress',
  'escalated',
  'closed',
  'suppressed',
  'silenced',
] as const;

export type TicketStatus = (typeof TICKET_STATUSES)[number];

/** The statuses a ticket may be opened in. */
export type OpeningStatus = Extract<TicketStatus, 'open' | 'silenced'>;

/** Statuses in which the automation is done with a ticket; entering one sets `resolvedAt`. */
export const RESOLVED_STATUSES: readonly TicketStatus[] = ['closed', 'escalated', 'suppressed'];

/**
 * Which status may follow which. Callers narrow this further with `from`. An escalated ticket can still
 * be closed (a human fixed it); closed and suppressed tickets are final.
 */
export const TICKET_LIFECYCLE: Readonly<Record<TicketStatus, readonly TicketStatus[]>> = {
  open: ['open', 'in_progress', 'closed', 'escalated', 'suppressed'],
  in_progress: ['in_progress', 'closed', 'escalated', 'suppressed'],
  // An operator may re-open an escalated ticket to retry it (`rca retry`).
  escalated: ['escalated', 'closed', 'open'],
  closed: ['closed'],
  suppressed: ['suppressed'],
  // Held by a silence: an operator retries it (`rca retry`: open again) or resolves it by hand.
  silenced: ['silenced', 'open', 'closed', 'escalated', 'suppressed'],
};

import { AWAITING_APPROVAL, QUEUED } from '../core/fleet.ts';
import { HELD_BY_OUTAGE } from '../core/outage.ts';
import { START_PENDING } from '../core/recovery-status.ts';

export { START_PENDING };

/**
 * Recovery statuses of open tickets the reconciler looks for: each has a marker partition
 * (`RECONCILE#<status>`) kept in step with the ticket in the same write.
 */
export const MARKED_RECOVERY_STATUSES: readonly string[] = [
  START_PENDING,
  QUEUED,
  AWAITING_APPROVAL,
  HELD_BY_OUTAGE,
];

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
  | 'silenced'
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
  /**
   * The cluster claim this ticket holds (`<workspace>#<cluster>`) while it is unresolved: one open
   * incident per cluster. Released in the same write that resolves the ticket.
   */
  readonly clusterClaim?: string;
  /** Further keys of the incident (see `incidentAliases`), mirrored like the key itself. */
  readonly incidentAliases?: readonly string[];
  /** The operator's silence that held this ticket (status and recovery status `silenced`). */
  readonly silenceId?: string;
  /** How many times an operator re-drove the ticket (`rca retry`). */
  readonly retries?: number;
  /** ISO timestamp: an `awaiting_approval` ticket escalates when nobody approved it by then. */
  readonly approvalDeadline?: string;
  /** ISO timestamp of when the ticket started waiting `queued` for a slot of the blast-radius cap. */
  readonly queuedAt?: string;
  /** Seconds the ticket waited `queued` in all (set when it leaves the queue). */
  readonly queuedSeconds?: number;
  /** The outage (`OUT-…`, `core/outage.ts`) this failure belongs to. */
  readonly outageId?: string;
  /** True for the one child of an outage that recovers first (its probe). */
  readonly outageProbe?: boolean;
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
    | 'retries'
    | 'approvalDeadline'
    | 'queuedAt'
    | 'queuedSeconds'
    | 'outageId'
    | 'outageProbe'
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
    | 'clusterClaim'
    | 'incidentAliases'
  > {
  /** `silenced` when an operator's silence covers the failure (name it in `silenceId`). @default 'open' */
  readonly status?: OpeningStatus;
  /**
   * `take`: a cluster failure claims its cluster until the ticket is resolved; while it is held every
   * further signal about the cluster is a duplicate. `check`: a job failure no cluster explains only
   * checks that its cluster has no open incident (and joins that one if it has).
   */
  readonly clusterClaim?: { readonly scope: string; readonly mode: 'take' | 'check' };
  /** Breakers that must be closed for the recovery to start; checked in the same write. */
  readonly breakerScopes?: readonly string[];
  /** Further keys of the same incident (`incidentAliases`), claimed in the same write. */
  readonly aliasKeys?: readonly string[];
  /**
   * A slot of the workspace's blast-radius cap, taken in the same write. With the cap reached the ticket
   * is written `queued` instead (without the breaker checks: they are made when it leaves the queue).
   */
  readonly capSlot?: SlotRequest;
  /**
   * One more conditional write of the same transaction, built for the ticket's id (outage correlation
   * records the ticket in its class's window on the condition that no outage is open). When its
   * condition fails nothing is written and the result is `guarded`, with the item as it was.
   */
  readonly guardItem?: (ticketId: string) => TransactItem;
  /** ISO timestamp of detection; its UTC date names the ticket. @default now */
  readonly detectedAt?: string;
  /** @default 0 */
  readonly attempts?: number;
  /** The first audit entry. @default { event: 'ticket_opened', actor: source } */
  readonly audit?: Partial<AuditEvent>;
}

/** What a duplicate learns about the ticket that already owns its incident or cluster, without a read. */
export interface TicketRef {
  readonly ticketId: string;
  /** As last mirrored on the incident or claim item by a transition. */
  readonly status?: TicketStatus;
  readonly recoveryStatus?: RecoveryStatus;
}

export type OpenTicketResult =
  | {
      readonly outcome: 'created';
      readonly ticket: Ticket;
      /** Every breaker scope asked for was checked closed in the same write. */
      readonly breakersClosed: boolean;
    }
  | {
      /** The incident already had a ticket, or the cluster has an open one (`via`). */
      readonly outcome: 'duplicate';
      readonly ticket: TicketRef;
      readonly via: 'incident' | 'claim';
      /**
       * Set when the ticket has not yet heard of this incident from this source (a job notification
       * after the webhook, a second failure of a claimed cluster): pass it to `recordOccurrence`. A
       * repeat of what the ticket already knows (a replay, the poller's next run) has none and costs
       * no write.
       */
      readonly news?: OccurrenceMark;
    };

/** Where an occurrence is marked as seen: the pointer item that answered the duplicate. */
export interface OccurrenceMark {
  readonly key: { readonly pk: string; readonly sk: string };
  readonly mark: string;
}

/**
 * A silence marker of one of the scopes asked for says a silence is in force: nothing was written. The
 * caller reads the silences and opens the ticket again without the checks.
 */
export interface OpenTicketSilenced {
  readonly outcome: 'silenced';
  readonly scope: string;
}

/** The `guardItem`'s condition failed: nothing was written; `item` is the guarded item as it was (marshalled). */
export interface OpenTicketGuarded {
  readonly outcome: 'guarded';
  readonly item?: Record<string, unknown>;
}

export interface TransitionInput {
  /** The statuses the ticket may be in now; anything else is a `TicketStateError`. */
  readonly from: readonly TicketStatus[];
  readonly to: TicketStatus;
  readonly patch?: TicketPatch;
  readonly audit: AuditEvent;
  /** Fail with `TicketConflictError` instead of re-reading if the ticket is no longer at this version. */
  readonly expectedVersion?: number;
  /** A slot of the blast-radius cap taken in the same write; `CapFullError` when the cap is reached. */
  readonly capSlot?: SlotRequest;
}

/** The workspace's blast-radius cap is reached: the transition that needed a slot was not made. */
export class CapFullError extends Error {
  override readonly name = 'CapFullError';
  readonly workspaceId: string;
  constructor(workspaceId: string, cap: number) {
    super(`workspace ${workspaceId} has ${cap} recoveries under way (its cap)`);
    this.workspaceId = workspaceId;
  }
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
  /** Further signals attached to the ticket (duplicates), counted. */
  readonly occurrences: { readonly count: number; readonly lastAt?: string };
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
const OCCURRENCES_SK = 'OCCURRENCES';
const CLAIM_SK = 'CLAIM';
const reconcilePk = (recoveryStatus: string) => `RECONCILE#${recoveryStatus}`;

/**
 * Tickets, their audit trail and the incident de-duplication key, in the single table:
 *
 * | item             | pk                       | sk                          | gsi1pk / gsi1sk                     |
 * |------------------|--------------------------|-----------------------------|-------------------------------------|
 * | ticket           | `TICKET#<id>`            | `TICKET`                    | `STATUS#<status>` / `<detectedAt>#<id>` |
 * | audit entry      | `TICKET#<id>`            | `AUDIT#<at>#<suffix>`       | — (has `expires_at`)                |
 * | incident         | `INCIDENT#<incidentKey>` | `INCIDENT`                  | —                                   |
 * | occurrences      | `TICKET#<id>`            | `OCCURRENCES`               | —                                   |
 * | cluster claim    | `CLUSTER#<ws>#<cluster>` | `CLAIM`                     | —                                   |
 * | start-pending    | `RECONCILE#start_pending`| `<detectedAt>#<id>`         | —                                   |
 * | queued, awaiting | `RECONCILE#queued`, `RECONCILE#awaiting_approval` | `<detectedAt>#<id>` | —          |
 *
 * The start-pending marker exists exactly while an unresolved ticket has recovery status
 * `start_pending`; it is written and deleted in the same transaction as the ticket, so the reconciler
 * finds those tickets with one Query instead of filtering every open ticket. The cluster claim exists
 * exactly while the ticket that took it is unresolved (same transaction again).
 *
 * Ticket numbers need no counter item: the number is the milliseconds between the UTC midnight of the
 * ticket's day and its creation (`RCA-20250102-45296789` was created at 12:34:56.789), made unique by
 * the ticket's conditional put (a number taken in the same millisecond moves to the next one) and
 * strictly increasing within a process. See docs/intake.md.
 */
export class TicketRepository {
  readonly #client: DocumentClient;
  readonly #tableName: string;
  readonly #clock: () => number;
  readonly #auditRetentionSeconds: number;
  readonly #maxAttempts: number;
  readonly #numbers = new TicketNumbers();

  constructor(options: TicketRepositoryOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#clock = options.clock ?? Date.now;
    this.#auditRetentionSeconds = Math.round((options.auditRetentionDays ?? 90) * 24 * 3600);
    this.#maxAttempts = options.maxAttempts ?? 10;
  }

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
    const now = this.#clock();
    const nowIso = new Date(now).toISOString();
    const detectedAt = normaliseIso(input.detectedAt ?? nowIso, 'detectedAt');
    const day = detectedAt.slice(0, 10).replaceAll('-', '');
    let ticketId = formatTicketId(day, this.#numbers.next(day, now));
    let breakerScopes = [...new Set(input.breakerScopes ?? [])];
    const silenceScopes = [...new Set(scopes)];
    let capSlot = input.capSlot;
    let queued = false;

    const {
      audit: auditInput,
      status = 'open',
      detectedAt: _detectedAt,
      attempts,
      clusterClaim,
      breakerScopes: _breakerScopes,
      aliasKeys = [],
      capSlot: _capSlot,
      guardItem,
      ...fields
    } = input;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const ticket: Ticket = compact({
        ...fields,
        ...(queued ? { recoveryStatus: QUEUED, queuedAt: nowIso } : {}),
        ...(clusterClaim?.mode === 'take' ? { clusterClaim: clusterClaim.scope } : {}),
        ...(aliasKeys.length > 0 ? { incidentAliases: aliasKeys } : {}),
        ticketId,
        status,
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
      const pointer = {
        ticketId,
        ticketStatus: ticket.status,
        recoveryStatus: ticket.recoveryStatus,
        createdAt: nowIso,
        seen: new Set([seenMark(input.source, input.incidentKey)]),
      };
      const items: TransactItems = [
        {
          Put: {
            TableName: this.#tableName,
            Item: { ...incidentKeyOf(input.incidentKey), incidentKey: input.incidentKey, ...pointer },
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ];
      for (const alias of aliasKeys) {
        items.push({
          Put: {
            TableName: this.#tableName,
            Item: { ...incidentKeyOf(alias), incidentKey: alias, aliasOf: input.incidentKey, ...pointer },
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        });
      }
      const claimAt = clusterClaim === undefined ? -1 : items.length;
      if (clusterClaim?.mode === 'take') {
        items.push({
          Put: {
            TableName: this.#tableName,
            Item: { ...claimKey(clusterClaim.scope), scope: clusterClaim.scope, ...pointer },
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        });
      } else if (clusterClaim?.mode === 'check') {
        items.push({
          ConditionCheck: {
            TableName: this.#tableName,
            Key: claimKey(clusterClaim.scope),
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        });
      }
      const ticketAt = items.length;
      items.push(
        {
          Put: {
            TableName: this.#tableName,
            Item: this.#ticketItem(ticket),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        { Put: { TableName: this.#tableName, Item: this.#auditItem(audit, now) } },
      );
      if (isMarked(ticket)) items.push({ Put: { TableName: this.#tableName, Item: markerItem(ticket) } });
      const breakersAt = items.length;
      for (const scope of breakerScopes) {
        items.push({
          ConditionCheck: {
            TableName: this.#tableName,
            Key: breakerKey(scope),
            ConditionExpression: 'attribute_not_exists(pk) OR #state = :closed',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':closed': 'closed' },
          },
        });
      }
      const silencesAt = items.length;
      for (const scope of silenceScopes) {
        items.push({
          ConditionCheck: {
            TableName: this.#tableName,
            Key: silenceMarkerKey(scope),
            ...silenceClearCondition(this.#clock()),
          },
        });
      }
      const capAt = capSlot === undefined ? -1 : items.length;
      if (capSlot !== undefined)
        items.push(acquireSlotItem(this.#tableName, capSlot, ticketId, executionNameFor(ticketId), now));
      const guardAt = guardItem === undefined ? -1 : items.length;
      if (guardItem !== undefined) items.push(guardItem(ticketId));

      try {
        await this.#client.send(new TransactWriteCommand({ TransactItems: items }));
        return { outcome: 'created', ticket, breakersClosed: breakerScopes.length > 0 };
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons === undefined) throw error;
        const failed = (index: number) => index >= 0 && reasons[index]?.Code === 'ConditionalCheckFailed';
        const known = aliasKeys.findIndex((_alias, i) => failed(i + 1)) + 1;
        const mark = seenMark(input.source, input.incidentKey);
        if (failed(0) || known > 0) {
          const key = incidentKeyOf(known > 0 ? (aliasKeys[known - 1] as string) : input.incidentKey);
          return duplicateOf(reasons[known]?.Item, 'incident', input.incidentKey, { key, mark });
        }
        if (failed(claimAt)) {
          const key = claimKey(clusterClaim?.scope as string);
          return duplicateOf(reasons[claimAt]?.Item, 'claim', input.incidentKey, { key, mark });
        }
        if (failed(guardAt)) return { outcome: 'guarded', ...optionalItem(reasons[guardAt]?.Item) };
        if (failed(ticketAt)) {
          // The number was taken in the same millisecond by another process: take the next one.
          ticketId = formatTicketId(day, this.#numbers.next(day, this.#clock()));
          continue;
        }
        const silenced = silenceScopes.findIndex((_scope, i) => failed(silencesAt + i));
        if (silenced >= 0) return { outcome: 'silenced', scope: silenceScopes[silenced] ?? '' };
        if (failed(capAt)) {
          // The workspace's cap is reached: the ticket waits queued; breakers are asked when it leaves.
          capSlot = undefined;
          queued = true;
          breakerScopes = [];
          continue;
        }
        if (
          reasons.slice(breakersAt, silencesAt).some((reason) => reason.Code === 'ConditionalCheckFailed')
        ) {
          // A breaker is open or half-open: open the ticket without the checks; the caller decides.
          breakerScopes = [];
          continue;
        }
        if (!reasons.some((reason) => reason.Code === 'TransactionConflict')) throw error;
        // A concurrent transaction on the same incident or cluster is in flight; it has probably won.
        await sleep(backoffMs(attempt));
      }
    }
    throw new TicketConflictError(
      ticketId,
      `could not open a ticket for ${input.incidentKey} under contention`,
    );
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
    const now = this.#clock();
    const entry = auditEntry(ticketId, new Date(now).toISOString(), event);
    const items: TransactItems = [
      {
        Update: {
          TableName: this.#tableName,
          Key: { pk: ticketPk(ticketId), sk: OCCURRENCES_SK },
          UpdateExpression: 'ADD #count :one SET #last = :at, #ticketId = :id',
          ExpressionAttributeNames: { '#count': 'count', '#last': 'lastAt', '#ticketId': 'ticketId' },
          ExpressionAttributeValues: { ':one': 1, ':at': entry.at, ':id': ticketId },
        },
      },
      { Put: { TableName: this.#tableName, Item: this.#auditItem(entry, now) } },
    ];
    const marked: TransactItems =
      news === undefined
        ? []
        : [
            {
              Update: {
                TableName: this.#tableName,
                Key: news.key,
                UpdateExpression: 'ADD #seen :mark',
                ConditionExpression:
                  '#ticketId = :id AND (attribute_not_exists(#seen) OR size(#seen) < :most)',
                ExpressionAttributeNames: { '#seen': 'seen', '#ticketId': 'ticketId' },
                ExpressionAttributeValues: {
                  ':mark': new Set([news.mark]),
                  ':id': ticketId,
                  ':most': MAX_SEEN,
                },
              },
            },
          ];
    try {
      await this.#client.send(new TransactWriteCommand({ TransactItems: [...items, ...marked] }));
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (marked.length === 0 || reasons?.[items.length]?.Code !== 'ConditionalCheckFailed') throw error;
      await this.#client.send(new TransactWriteCommand({ TransactItems: items }));
    }
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
      const markedBefore = isMarked(current) ? markerKey(current) : undefined;
      const markedAfter = isMarked(next) ? markerKey(next) : undefined;
      if (markedBefore?.pk !== markedAfter?.pk || markedBefore?.sk !== markedAfter?.sk) {
        if (markedBefore !== undefined)
          items.push({ Delete: { TableName: this.#tableName, Key: markedBefore } });
        if (markedAfter !== undefined)
          items.push({ Put: { TableName: this.#tableName, Item: markerItem(next) } });
      }
      items.push(...this.#pointerUpdates(current, next));
      const capAt = input.capSlot === undefined ? -1 : items.length;
      if (input.capSlot !== undefined) {
        items.push(
          acquireSlotItem(
            this.#tableName,
            input.capSlot,
            ticketId,
            executionNameFor(ticketId, next.retries),
            now,
          ),
        );
      }

      try {
        await this.#client.send(new TransactWriteCommand({ TransactItems: items }));
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
    let occurrences: TicketWithAudit['occurrences'] = { count: 0 };
    const items = await queryAll(this.#client, {
      TableName: this.#tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': ticketPk(ticketId) },
      ConsistentRead: true,
    });
    for (const item of items) {
      if (item.sk === TICKET_SK) ticket = withoutKeys(item) as unknown as Ticket;
      else if (item.sk === OCCURRENCES_SK)
        occurrences = compact({ count: Number(item.count), lastAt: item.lastAt as string | undefined });
      else if (String(item.sk).startsWith('AUDIT#')) audit.push(withoutKeys(item) as unknown as AuditEntry);
    }
    return ticket === undefined ? undefined : { ticket, audit, occurrences };
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
    return this.listMarked(START_PENDING, limit, cursor);
  }

  /**
   * Open tickets in one of the `MARKED_RECOVERY_STATUSES` (start_pending, queued, awaiting_approval),
   * oldest detection first: one Query on the marker partition, then one consistent BatchGet.
   */
  async listMarked(recoveryStatus: string, limit = 50, cursor?: string): Promise<TicketPage> {
    if (!MARKED_RECOVERY_STATUSES.includes(recoveryStatus))
      throw new RangeError(`${recoveryStatus} is not a marked recovery status`);
    const page = await this.#client.send(
      new QueryCommand({
        TableName: this.#tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': reconcilePk(recoveryStatus) },
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor),
      }),
    );
    const ids = (page.Items ?? []).map((item) => String(item.ticketId));
    const byId = await this.#batchGetTickets(ids);
    const tickets = ids
      .map((id) => byId.get(id))
      .filter(
        (ticket): ticket is Ticket =>
          ticket !== undefined && isMarked(ticket) && ticket.recoveryStatus === recoveryStatus,
      );
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

  /**
   * Keeps the items that point at the ticket in step with it, in the transition's own write: the
   * incident item and the cluster claim mirror its status (a duplicate answers from them without a
   * read), and the claim is deleted when the ticket is resolved — whoever resolves it (workflow close
   * or escalation, reconciler, intake, operator) — so the cluster's next failure opens a new ticket.
   */
  #pointerUpdates(current: Ticket, next: Ticket): TransactItems {
    if (current.status === next.status && current.recoveryStatus === next.recoveryStatus) return [];
    const mirror = (key: { pk: string; sk: string }) => ({
      Update: {
        TableName: this.#tableName,
        Key: key,
        UpdateExpression: 'SET #ticketStatus = :status, #recoveryStatus = :recoveryStatus',
        ConditionExpression: '#ticketId = :ticketId',
        ExpressionAttributeNames: {
          '#ticketStatus': 'ticketStatus',
          '#recoveryStatus': 'recoveryStatus',
          '#ticketId': 'ticketId',
        },
        ExpressionAttributeValues: {
          ':status': next.status,
          ':recoveryStatus': next.recoveryStatus,
          ':ticketId': next.ticketId,
        },
      },
    });
    const items: TransactItems = [current.incidentKey, ...(current.incidentAliases ?? [])].map((key) =>
      mirror(incidentKeyOf(key)),
    );
    const claim = current.clusterClaim;
    if (
      claim !== undefined &&
      RESOLVED_STATUSES.includes(current.status) &&
      !RESOLVED_STATUSES.includes(next.status)
    ) {
      // An operator re-opened the ticket (`rca retry`): it takes its cluster's claim again, unless
      // another ticket holds it now.
      items.push({
        Put: {
          TableName: this.#tableName,
          Item: {
            ...claimKey(claim),
            scope: claim,
            ticketId: next.ticketId,
            ticketStatus: next.status,
            recoveryStatus: next.recoveryStatus,
            createdAt: next.updatedAt,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    } else if (claim !== undefined && !RESOLVED_STATUSES.includes(current.status)) {
      if (RESOLVED_STATUSES.includes(next.status)) {
        items.push({
          Delete: {
            TableName: this.#tableName,
            Key: claimKey(claim),
            ConditionExpression: 'attribute_not_exists(pk) OR #ticketId = :ticketId',
            ExpressionAttributeNames: { '#ticketId': 'ticketId' },
            ExpressionAttributeValues: { ':ticketId': current.ticketId },
          },
        });
      } else {
        items.push(mirror(claimKey(claim)));
      }
    }
    return items;
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

/** `RCA-YYYYMMDD-NNN`; the number is zero-padded to eight digits (a day has 86,400,000 ms). */
export function formatTicketId(day: string, n: number): string {
  return `RCA-${day}-${String(n).padStart(8, '0')}`;
}

/**
 * Ticket numbers without a counter item: milliseconds from the UTC midnight of the ticket's day to
 * its creation (a ticket for an earlier day gets a number past 86,400,000, still increasing), never
 * below 1, and above the last number this process gave for the day. Uniqueness across processes is
 * the ticket put's condition; a collision takes the next number.
 */
export class TicketNumbers {
  readonly #last = new Map<string, number>();

  next(day: string, now: number): number {
    const midnight = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)));
    const n = Math.max(1, now - midnight, (this.#last.get(day) ?? 0) + 1);
    if (this.#last.size > 8) this.#last.clear();
    this.#last.set(day, n);
    return n;
  }
}

type TransactItems = NonNullable<TransactWriteCommandInput['TransactItems']>;
export type TransactItem = TransactItems[number];

/** What a pointer's `seen` set records: this source has told about this incident. */
function seenMark(source: string, incidentKey: string): string {
  return `${source}|${incidentKey}`;
}

/** Marks kept per pointer item; past it, further news is still recorded, every time. */
const MAX_SEEN = 50;

function duplicateOf(
  item: Record<string, unknown> | undefined,
  via: 'incident' | 'claim',
  incidentKey: string,
  news: OccurrenceMark,
): OpenTicketResult {
  const ticketId = attributeString(item?.ticketId);
  if (ticketId === undefined) {
    throw new TicketConflictError('(unknown)', `the ${via} item of ${incidentKey} names no ticket`);
  }
  const status = attributeString(item?.ticketStatus) as TicketStatus | undefined;
  const recoveryStatus = attributeString(item?.recoveryStatus);
  const known = attributeStrings(item?.seen).includes(news.mark);
  return {
    outcome: 'duplicate',
    via,
    ticket: compact({ ticketId, status, recoveryStatus }),
    ...(known ? {} : { news }),
  };
}

function optionalItem(item: Record<string, unknown> | undefined): { item?: Record<string, unknown> } {
  return item === undefined ? {} : { item };
}

/** A string-set attribute of a cancellation reason's item: marshalled (`{SS: [...]}`) or a Set. */
function attributeStrings(value: unknown): string[] {
  if (value instanceof Set) return [...value].filter((v): v is string => typeof v === 'string');
  const ss = (value as { SS?: unknown } | undefined)?.SS;
  return Array.isArray(ss) ? ss.filter((v): v is string => typeof v === 'string') : [];
}

/** A string attribute of a cancellation reason's item: marshalled (`{S: ...}`) or already plain. */
export function attributeString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const s = (value as { S?: unknown } | undefined)?.S;
  return typeof s === 'string' ? s : undefined;
}

function incidentKeyOf(incidentKey: string): { pk: string; sk: string } {
  return { pk: incidentPk(incidentKey), sk: INCIDENT_SK };
}

/** The claim item of a cluster (`<workspace>#<cluster>`): present while an incident about it is open. */
export function claimKey(scope: string): { pk: string; sk: string } {
  return { pk: `CLUSTER#${scope}`, sk: CLAIM_SK };
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
  const recoveryStatus = patch.recoveryStatus ?? current.recoveryStatus;
  if (current.recoveryStatus !== QUEUED && recoveryStatus === QUEUED) {
    Object.assign(timestamps, { queuedAt: nowIso });
  } else if (
    current.recoveryStatus === QUEUED &&
    recoveryStatus !== QUEUED &&
    current.queuedAt !== undefined
  ) {
    // Time spent waiting for a slot of the blast-radius cap, for `rca report`.
    const waited = Math.max(0, (now - Date.parse(current.queuedAt)) / 1000);
    Object.assign(timestamps, { queuedSeconds: (current.queuedSeconds ?? 0) + waited });
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

function isMarked(ticket: Ticket): boolean {
  return (
    MARKED_RECOVERY_STATUSES.includes(ticket.recoveryStatus) && !RESOLVED_STATUSES.includes(ticket.status)
  );
}

function markerKey(ticket: Ticket): { pk: string; sk: string } {
  return { pk: reconcilePk(ticket.recoveryStatus), sk: `${ticket.detectedAt}#${ticket.ticketId}` };
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
