/**
 * The items that point at a ticket — the incident item (and its aliases) and the cluster claim — and
 * the occurrences recorded through them: a duplicate learns its ticket from a pointer without a read,
 * and a pointer's `seen` set keeps the same news from the same source from being recorded twice.
 */
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { compact } from '../core/json.ts';
import {
  type AuditEvent,
  auditEntry,
  type OccurrenceMark,
  type OpenTicketInput,
  type OpenTicketResult,
  RESOLVED_STATUSES,
  TICKET_STATUSES,
  type Ticket,
  TicketConflictError,
} from '../core/ticket.ts';
import { cancellationReasons } from './dynamo.ts';
import {
  auditItem,
  claimKey,
  incidentKeyOf,
  OCCURRENCES_SK,
  type TicketTable,
  type TransactItems,
  ticketPk,
} from './ticket-items.ts';

/** What a pointer's `seen` set records: this source has told about this incident. */
export function seenMark(source: string, incidentKey: string): string {
  return `${source}|${incidentKey}`;
}

/** Marks kept per pointer item; past it, further news is still recorded, every time. */
const MAX_SEEN = 50;

/**
 * The pointer items a new ticket writes in its opening transaction: the incident item and one per
 * alias (each conditional on not existing), then the cluster claim taken (`take`) or checked (`check`).
 * `claimAt` is the claim's index in `items`, -1 without one.
 */
export function pointerPuts(
  tableName: string,
  input: OpenTicketInput,
  ticket: Ticket,
): { readonly items: TransactItems; readonly claimAt: number } {
  const { aliasKeys = [], clusterClaim } = input;
  const pointer = {
    ticketId: ticket.ticketId,
    ticketStatus: ticket.status,
    recoveryStatus: ticket.recoveryStatus,
    createdAt: ticket.createdAt,
    seen: new Set([seenMark(input.source, input.incidentKey)]),
  };
  const items: TransactItems = [
    {
      Put: {
        TableName: tableName,
        Item: { ...incidentKeyOf(input.incidentKey), incidentKey: input.incidentKey, ...pointer },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
  ];
  for (const alias of aliasKeys) {
    items.push({
      Put: {
        TableName: tableName,
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
        TableName: tableName,
        Item: { ...claimKey(clusterClaim.scope), scope: clusterClaim.scope, ...pointer },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
  } else if (clusterClaim?.mode === 'check') {
    items.push({
      ConditionCheck: {
        TableName: tableName,
        Key: claimKey(clusterClaim.scope),
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
  }
  return { items, claimAt };
}

export function duplicateOf(
  item: Record<string, unknown> | undefined,
  via: 'incident' | 'claim',
  incidentKey: string,
  news: OccurrenceMark,
): OpenTicketResult {
  const ticketId = attributeString(item?.ticketId);
  if (ticketId === undefined) {
    throw new TicketConflictError('(unknown)', `the ${via} item of ${incidentKey} names no ticket`);
  }
  const stored = attributeString(item?.ticketStatus);
  const status = TICKET_STATUSES.find((known) => known === stored);
  const recoveryStatus = attributeString(item?.recoveryStatus);
  const known = attributeStrings(item?.seen).includes(news.mark);
  return {
    outcome: 'duplicate',
    via,
    ticket: compact({ ticketId, status, recoveryStatus }),
    ...(known ? {} : { news }),
  };
}

/** A string-set attribute of a cancellation reason's item: marshalled (`{SS: [...]}`) or a Set. */
function attributeStrings(value: unknown): string[] {
  if (value instanceof Set) return [...value].filter((v): v is string => typeof v === 'string');
  const ss = (value as { SS?: unknown } | undefined)?.SS;
  return Array.isArray(ss) ? ss.filter((v): v is string => typeof v === 'string') : [];
}

/** The string attributes of a cancellation reason's item (marshalled or plain), as plain strings. */
export function stringAttributes(item: Record<string, unknown>): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [name, value] of Object.entries(item)) {
    const text = attributeString(value);
    if (text !== undefined) strings[name] = text;
  }
  return strings;
}

/** A string attribute of a cancellation reason's item: marshalled (`{S: ...}`) or already plain. */
function attributeString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const s = (value as { S?: unknown } | undefined)?.S;
  return typeof s === 'string' ? s : undefined;
}

/**
 * Keeps the items that point at the ticket in step with it, in the transition's own write: the
 * incident item and the cluster claim mirror its status (a duplicate answers from them without a
 * read), and the claim is deleted when the ticket is resolved — whoever resolves it (workflow close
 * or escalation, reconciler, intake, operator) — so the cluster's next failure opens a new ticket.
 */
export function pointerUpdates(tableName: string, current: Ticket, next: Ticket): TransactItems {
  if (current.status === next.status && current.recoveryStatus === next.recoveryStatus) return [];
  const mirror = (key: { pk: string; sk: string }) => ({
    Update: {
      TableName: tableName,
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
        TableName: tableName,
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
          TableName: tableName,
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

/**
 * Attaches a further signal about an open incident to its ticket: the ticket's occurrence counter
 * (item `OCCURRENCES` in the ticket's partition, so the ticket is never rewritten and never
 * conflicts with the workflow's transitions), an `occurrence` audit entry and, with `news`, the mark
 * on the pointer item that answered the duplicate — so the same news from the same source is
 * recorded once — in one write. A pointer deleted meanwhile (the claim of a ticket just resolved)
 * is not re-created: the occurrence is recorded without the mark.
 */
export async function recordOccurrence(
  table: TicketTable,
  ticketId: string,
  event: AuditEvent,
  news?: OccurrenceMark,
): Promise<void> {
  const now = table.clock();
  const entry = auditEntry(ticketId, new Date(now).toISOString(), event);
  const items: TransactItems = [
    {
      Update: {
        TableName: table.tableName,
        Key: { pk: ticketPk(ticketId), sk: OCCURRENCES_SK },
        UpdateExpression: 'ADD #count :one SET #last = :at, #ticketId = :id',
        ExpressionAttributeNames: { '#count': 'count', '#last': 'lastAt', '#ticketId': 'ticketId' },
        ExpressionAttributeValues: { ':one': 1, ':at': entry.at, ':id': ticketId },
      },
    },
    { Put: { TableName: table.tableName, Item: auditItem(table, entry, now) } },
  ];
  const marked: TransactItems =
    news === undefined
      ? []
      : [
          {
            Update: {
              TableName: table.tableName,
              Key: news.key,
              UpdateExpression: 'ADD #seen :mark',
              ConditionExpression: '#ticketId = :id AND (attribute_not_exists(#seen) OR size(#seen) < :most)',
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
    await table.client.send(new TransactWriteCommand({ TransactItems: [...items, ...marked] }));
  } catch (error) {
    const reasons = cancellationReasons(error);
    if (marked.length === 0 || reasons?.[items.length]?.Code !== 'ConditionalCheckFailed') throw error;
    await table.client.send(new TransactWriteCommand({ TransactItems: items }));
  }
}
