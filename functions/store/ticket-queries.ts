import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { TICKET_STATUSES, type Ticket, type TicketStatus } from '../core/ticket.ts';
import { parseItem, queryAll } from './dynamo.ts';
import { TableRepository } from './repository.ts';
import { claimKey, TicketItemSchema } from './ticket-items.ts';

/**
 * Read-only ticket queries for operators: tickets detected since a time, by status, from the status
 * index (`gsi1`: `STATUS#<status>` / `<detectedAt>#<id>`), so a window is a key condition, not a scan.
 */
export class TicketQueries extends TableRepository {
  /** Tickets in `statuses` detected at or after `sinceIso`, newest first, at most `limit`. */
  async detectedSince(
    sinceIso: string,
    statuses: readonly TicketStatus[] = TICKET_STATUSES,
    limit = 1000,
  ): Promise<Ticket[]> {
    const pages = await Promise.all(statuses.map((status) => this.#byStatus(status, sinceIso, limit)));
    return pages
      .flat()
      .sort((a, b) => b.detectedAt.localeCompare(a.detectedAt) || b.ticketId.localeCompare(a.ticketId))
      .slice(0, limit);
  }

  /** The ticket holding a cluster's claim (`<workspace>#<cluster>`), if one does. */
  async claimHolder(scope: string): Promise<string | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: claimKey(scope), ConsistentRead: true }),
    );
    return typeof Item?.ticketId === 'string' ? Item.ticketId : undefined;
  }

  async #byStatus(status: TicketStatus, sinceIso: string, limit: number): Promise<Ticket[]> {
    const items = await queryAll(
      this.client,
      {
        TableName: this.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk >= :since',
        ExpressionAttributeValues: { ':pk': `STATUS#${status}`, ':since': sinceIso },
        ScanIndexForward: false,
      },
      limit,
    );
    return items.map((item) => parseItem(TicketItemSchema, item, 'ticket'));
  }
}
