/**
 * A ticket and its lifecycle: the statuses, which may follow which, the next state of a ticket after a
 * transition, ticket numbers and the errors of ticket writes. The store (`functions/store/tickets.ts`)
 * implements the writes; this module decides nothing about DynamoDB.
 */
import type { Action, Category, ErrorType } from './error-types.ts';
import { AWAITING_APPROVAL, QUEUED, type SlotRequest } from './fleet.ts';
import { compact } from './json.ts';
import { HELD_BY_OUTAGE } from './outage.ts';
import { START_PENDING } from './recovery-status.ts';
import type { SignalSource } from './signal.ts';

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
   * records the ticket in its class's window on the condition that no outage is open). The store builds
   * it and the store writes it: to the domain it is opaque. When its condition fails nothing is written
   * and the result is `guarded`, with the guarded item's string attributes as they were.
   */
  readonly guardItem?: (ticketId: string) => GuardWrite;
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

/** A conditional write a repository adds to a ticket's opening transaction (`guardItem`). */
export type GuardWrite = object;

/** The `guardItem`'s condition failed: nothing was written; `item`: the guarded item's string attributes. */
export interface OpenTicketGuarded {
  readonly outcome: 'guarded';
  readonly item?: Readonly<Record<string, string>>;
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

/**
 * The ticket after a transition to `to` with `patch` at `now`: entering `in_progress` acknowledges it
 * (once), entering a resolved status resolves it, entering or leaving `queued` keeps the queue time.
 */
export function nextTicket(current: Ticket, to: TicketStatus, patch: TicketPatch, now: number): Ticket {
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

/** The audit entry of `event` on the ticket at `at`, its details made storable. */
export function auditEntry(ticketId: string, at: string, event: AuditEvent): AuditEntry {
  const entry: AuditEntry = { ticketId, at, event: event.event, actor: event.actor };
  // A JSON round trip drops undefined values DynamoDB cannot store and anything not serialisable.
  return event.details === undefined
    ? entry
    : { ...entry, details: JSON.parse(JSON.stringify(event.details)) };
}

/** Whether the ticket has a reconciler marker (`MARKED_RECOVERY_STATUSES`, unresolved). */
export function isMarked(ticket: Ticket): boolean {
  return (
    MARKED_RECOVERY_STATUSES.includes(ticket.recoveryStatus) && !RESOLVED_STATUSES.includes(ticket.status)
  );
}

/**
 * Whether a ticket in `current.status` may move to `to` for a caller that expects it in one of `from`:
 * a `TicketStateError` naming the statuses it could have moved from when not.
 */
export function checkTransition(current: Ticket, from: readonly TicketStatus[], to: TicketStatus): void {
  if (!from.includes(current.status) || !TICKET_LIFECYCLE[current.status].includes(to)) {
    const allowed = from.filter((status) => TICKET_LIFECYCLE[status].includes(to));
    throw new TicketStateError(current.ticketId, current.status, to, allowed);
  }
}
