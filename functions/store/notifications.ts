import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { conditionHeld } from './dynamo.ts';
import {
  type RepositoryOptions,
  type RetentionOptions,
  retentionSeconds,
  TableRepository,
} from './repository.ts';

/**
 * Notifications once: before a Close or Escalate task notifies, it claims the record
 * `TICKET#<id>` / `NOTIFIED#<outcome>#<execution>` with a conditional put. A retried task (Step
 * Functions runs a task again after a timeout or a lost answer) finds the record and sends nothing.
 * The execution part keeps an operator's `rca retry` of the ticket able to notify its own outcome.
 */
export class NotificationLedger extends TableRepository {
  readonly #retentionSeconds: number;

  constructor(options: RepositoryOptions & RetentionOptions) {
    super(options);
    this.#retentionSeconds = retentionSeconds(options.retentionDays);
  }

  /** True when this call claimed the notification; false when it was already sent (or is being sent). */
  async claim(ticketId: string, key: string): Promise<boolean> {
    const now = this.clock();
    return conditionHeld(
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keyOf(ticketId, key),
            ticketId,
            notifiedAt: new Date(now).toISOString(),
            expires_at: Math.floor(now / 1000) + this.#retentionSeconds,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  /** Gives the claim back after the notifier failed, so a retried task may try again. */
  async release(ticketId: string, key: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: keyOf(ticketId, key) }));
  }
}

function keyOf(ticketId: string, key: string): { pk: string; sk: string } {
  return { pk: `TICKET#${ticketId}`, sk: `NOTIFIED#${key}` };
}
