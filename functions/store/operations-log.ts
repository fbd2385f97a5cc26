import { randomBytes } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type DocumentClient, withoutKeys } from './dynamo.ts';

/** One operator action: a breaker opened or closed by hand, a silence added or removed, a retry. */
export interface OperationEntry {
  readonly at: string;
  /** `breaker_opened`, `breaker_closed`, `silence_added`, `silence_removed`, `ticket_retried`, … */
  readonly event: string;
  /** Who did it: the caller's IAM ARN, or `local-operator`. */
  readonly actor: string;
  readonly subject: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

const PK = 'OPERATIONS';

/**
 * The operators' audit trail: items `OPERATIONS` / `<at>#<random>`, kept for `retentionDays` (DynamoDB
 * TTL). A ticket's own changes stay in the ticket's audit trail; this holds what has no ticket.
 */
export class OperationsLog {
  readonly #client: DocumentClient;
  readonly #tableName: string;
  readonly #clock: () => number;
  readonly #retentionSeconds: number;

  constructor(options: {
    readonly client: DocumentClient;
    readonly tableName: string;
    readonly clock?: () => number;
    /** @default 90 */
    readonly retentionDays?: number;
  }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#clock = options.clock ?? Date.now;
    this.#retentionSeconds = Math.round((options.retentionDays ?? 90) * 86_400);
  }

  async append(entry: Omit<OperationEntry, 'at'>): Promise<OperationEntry> {
    const now = this.#clock();
    const stored: OperationEntry = { ...entry, at: new Date(now).toISOString() };
    await this.#client.send(
      new PutCommand({
        TableName: this.#tableName,
        Item: {
          ...JSON.parse(JSON.stringify(stored)),
          pk: PK,
          sk: `${stored.at}#${randomBytes(4).toString('hex')}`,
          expires_at: Math.floor(now / 1000) + this.#retentionSeconds,
        },
      }),
    );
    return stored;
  }

  /** Entries since `sinceIso`, oldest first. */
  async since(sinceIso: string, limit = 500): Promise<OperationEntry[]> {
    const { Items = [] } = await this.#client.send(
      new QueryCommand({
        TableName: this.#tableName,
        KeyConditionExpression: 'pk = :pk AND sk >= :since',
        ExpressionAttributeValues: { ':pk': PK, ':since': sinceIso },
        Limit: limit,
      }),
    );
    return Items.map((item) => withoutKeys(item) as unknown as OperationEntry);
  }
}
