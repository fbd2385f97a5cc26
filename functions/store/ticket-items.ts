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
import { randomBytes } from 'node:crypto';
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { ACTIONS, CATEGORIES, ERROR_TYPES } from '../core/error-types.ts';
import { SIGNAL_SOURCES } from '../core/signal.ts';
import {
  type AuditEntry,
  TICKET_STATUSES,
  type Ticket,
  type TicketNumbers,
  type TicketStatus,
} from '../core/ticket.ts';
import * as z from '../core/zod.ts';
import type { DocumentClient } from './dynamo.ts';

export const TICKET_SK = 'TICKET';
export const INCIDENT_SK = 'INCIDENT';
export const OCCURRENCES_SK = 'OCCURRENCES';
const CLAIM_SK = 'CLAIM';
export const reconcilePk = (recoveryStatus: string) => `RECONCILE#${recoveryStatus}`;

export type TransactItems = NonNullable<TransactWriteCommandInput['TransactItems']>;
export type TransactItem = TransactItems[number];

/** What the ticket repository's reads and writes work with (resolved from its options once). */
export interface TicketTable {
  readonly client: DocumentClient;
  readonly tableName: string;
  readonly clock: () => number;
  readonly auditRetentionSeconds: number;
  readonly maxAttempts: number;
  readonly numbers: TicketNumbers;
}

export function incidentKeyOf(incidentKey: string): { pk: string; sk: string } {
  return { pk: incidentPk(incidentKey), sk: INCIDENT_SK };
}

/** The claim item of a cluster (`<workspace>#<cluster>`): present while an incident about it is open. */
export function claimKey(scope: string): { pk: string; sk: string } {
  return { pk: `CLUSTER#${scope}`, sk: CLAIM_SK };
}

export function markerKey(ticket: Ticket): { pk: string; sk: string } {
  return { pk: reconcilePk(ticket.recoveryStatus), sk: `${ticket.detectedAt}#${ticket.ticketId}` };
}

export function markerItem(ticket: Ticket): Record<string, unknown> {
  return { ...markerKey(ticket), ticketId: ticket.ticketId, detectedAt: ticket.detectedAt };
}

export function ticketPk(ticketId: string): string {
  return `TICKET#${ticketId}`;
}

export function ticketKey(ticketId: string): { pk: string; sk: string } {
  return { pk: ticketPk(ticketId), sk: TICKET_SK };
}

function incidentPk(incidentKey: string): string {
  return `INCIDENT#${incidentKey}`;
}

export function statusPk(status: TicketStatus): string {
  return `STATUS#${status}`;
}

export function ticketItem(ticket: Ticket): Record<string, unknown> {
  return {
    ...ticket,
    ...ticketKey(ticket.ticketId),
    gsi1pk: statusPk(ticket.status),
    gsi1sk: `${ticket.detectedAt}#${ticket.ticketId}`,
  };
}

export function auditItem(table: TicketTable, entry: AuditEntry, nowMs: number): Record<string, unknown> {
  return {
    ...entry,
    pk: ticketPk(entry.ticketId),
    sk: `AUDIT#${entry.at}#${uniqueSuffix()}`,
    expires_at: Math.floor(nowMs / 1000) + table.auditRetentionSeconds,
  };
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

const text = z.string();
const optionalText = z.optional(z.string());
const optionalNumber = z.optional(z.number());

/** Every field of a stored ticket (`satisfies` fails the type check when `Ticket` gains one this lacks). */
const ticketShape = {
  ticketId: text,
  incidentKey: text,
  status: z.enum(TICKET_STATUSES),
  recoveryStatus: text,
  workspaceId: text,
  clusterId: optionalText,
  clusterName: optionalText,
  jobId: optionalText,
  runId: optionalText,
  source: z.enum(SIGNAL_SOURCES),
  errorType: z.enum(ERROR_TYPES),
  category: z.enum(CATEGORIES),
  action: z.enum(ACTIONS),
  reason: text,
  terminationCode: optionalText,
  terminationType: optionalText,
  detectedAt: text,
  acknowledgedAt: optionalText,
  resolvedAt: optionalText,
  ackSeconds: optionalNumber,
  resolutionSeconds: optionalNumber,
  executionName: optionalText,
  attempts: z.number(),
  escalationReason: optionalText,
  createdAt: text,
  updatedAt: text,
  version: z.number(),
  clusterClaim: optionalText,
  incidentAliases: z.optional(z.array(text)),
  silenceId: optionalText,
  retries: optionalNumber,
  approvalDeadline: optionalText,
  queuedAt: optionalText,
  queuedSeconds: optionalNumber,
  outageId: optionalText,
  outageProbe: z.optional(z.boolean()),
} satisfies Record<keyof Ticket, z.ZodMiniType>;

/** A stored ticket; loose, so a field a newer writer added survives a read by this one. */
export const TicketItemSchema: z.ZodMiniType<Ticket> = z.looseObject(ticketShape);

const auditShape = {
  ticketId: text,
  at: text,
  event: text,
  actor: text,
  details: z.optional(z.record(z.string(), z.unknown())),
} satisfies Record<keyof AuditEntry, z.ZodMiniType>;

export const AuditItemSchema: z.ZodMiniType<AuditEntry> = z.looseObject(auditShape);
