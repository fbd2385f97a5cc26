/** Reading tickets: one with its audit trail, a page by status, the reconciler's marked tickets. */
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { compact } from '../core/json.ts';
import {
  type AuditEntry,
  isMarked,
  MARKED_RECOVERY_STATUSES,
  type Ticket,
  type TicketPage,
  type TicketStatus,
  type TicketWithAudit,
} from '../core/ticket.ts';
import { backoffMs, decodeCursor, encodeCursor, parseItem, queryAll } from './dynamo.ts';
import {
  AuditItemSchema,
  OCCURRENCES_SK,
  reconcilePk,
  statusPk,
  TICKET_SK,
  TicketItemSchema,
  type TicketTable,
  ticketKey,
  ticketPk,
} from './ticket-items.ts';

/** The ticket and its audit trail, oldest entry first, or undefined if there is no such ticket. */
export async function getTicket(table: TicketTable, ticketId: string): Promise<TicketWithAudit | undefined> {
  let ticket: Ticket | undefined;
  const audit: AuditEntry[] = [];
  let occurrences: TicketWithAudit['occurrences'] = { count: 0 };
  const items = await queryAll(table.client, {
    TableName: table.tableName,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': ticketPk(ticketId) },
    ConsistentRead: true,
  });
  for (const item of items) {
    if (item.sk === TICKET_SK) ticket = parseItem(TicketItemSchema, item, 'ticket');
    else if (item.sk === OCCURRENCES_SK)
      occurrences = compact({ count: Number(item.count), lastAt: item.lastAt as string | undefined });
    else if (String(item.sk).startsWith('AUDIT#'))
      audit.push(parseItem(AuditItemSchema, item, 'audit entry'));
  }
  return ticket === undefined ? undefined : { ticket, audit, occurrences };
}

/** Tickets in `status`, oldest detection first (eventually consistent: it reads the index). */
export async function listByStatus(
  table: TicketTable,
  status: TicketStatus,
  limit = 50,
  cursor?: string,
): Promise<TicketPage> {
  const page = await table.client.send(
    new QueryCommand({
      TableName: table.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': statusPk(status) },
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor),
    }),
  );
  const tickets = (page.Items ?? []).map((item) => parseItem(TicketItemSchema, item, 'ticket'));
  const next = encodeCursor(page.LastEvaluatedKey);
  return next === undefined ? { tickets } : { tickets, cursor: next };
}

/**
 * Open tickets in one of the `MARKED_RECOVERY_STATUSES` (start_pending, queued, awaiting_approval),
 * oldest detection first: one Query on the marker partition, then one consistent BatchGet.
 */
export async function listMarked(
  table: TicketTable,
  recoveryStatus: string,
  limit = 50,
  cursor?: string,
): Promise<TicketPage> {
  if (!MARKED_RECOVERY_STATUSES.includes(recoveryStatus))
    throw new RangeError(`${recoveryStatus} is not a marked recovery status`);
  const page = await table.client.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': reconcilePk(recoveryStatus) },
      ConsistentRead: true,
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor),
    }),
  );
  const ids = (page.Items ?? []).map((item) => String(item.ticketId));
  const byId = await batchGetTickets(table, ids);
  const tickets = ids
    .map((id) => byId.get(id))
    .filter(
      (ticket): ticket is Ticket =>
        ticket !== undefined && isMarked(ticket) && ticket.recoveryStatus === recoveryStatus,
    );
  const next = encodeCursor(page.LastEvaluatedKey);
  return next === undefined ? { tickets } : { tickets, cursor: next };
}

async function batchGetTickets(table: TicketTable, ids: readonly string[]): Promise<Map<string, Ticket>> {
  const found = new Map<string, Ticket>();
  // BatchGetItem takes at most 100 keys.
  for (let start = 0; start < ids.length; start += 100) {
    let keys: Record<string, unknown>[] = ids.slice(start, start + 100).map(ticketKey);
    for (let attempt = 1; keys.length > 0; attempt++) {
      if (attempt > table.maxAttempts)
        throw new Error(`could not read ${keys.length} tickets: DynamoDB kept them unprocessed`);
      const result = await table.client.send(
        new BatchGetCommand({ RequestItems: { [table.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of result.Responses?.[table.tableName] ?? []) {
        const ticket = parseItem(TicketItemSchema, item, 'ticket');
        found.set(ticket.ticketId, ticket);
      }
      keys = result.UnprocessedKeys?.[table.tableName]?.Keys ?? [];
      if (keys.length > 0) await sleep(backoffMs(attempt));
    }
  }
  return found;
}

export async function readTicket(table: TicketTable, ticketId: string): Promise<Ticket | undefined> {
  const { Item } = await table.client.send(
    new GetCommand({ TableName: table.tableName, Key: ticketKey(ticketId), ConsistentRead: true }),
  );
  return Item === undefined ? undefined : parseItem(TicketItemSchema, Item, 'ticket');
}
