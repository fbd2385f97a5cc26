import { randomBytes } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../core/zod.ts';
import { parseItem } from './dynamo.ts';
import {
  type RepositoryOptions,
  type RetentionOptions,
  retentionSeconds,
  TableRepository,
} from './repository.ts';

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
export class OperationsLog extends TableRepository {
  readonly #retentionSeconds: number;

  constructor(options: RepositoryOptions & RetentionOptions) {
    super(options);
    this.#retentionSeconds = retentionSeconds(options.retentionDays);
  }

  async append(entry: Omit<OperationEntry, 'at'>): Promise<OperationEntry> {
    const now = this.clock();
    const stored: OperationEntry = { ...entry, at: new Date(now).toISOString() };
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
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
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk >= :since',
        ExpressionAttributeValues: { ':pk': PK, ':since': sinceIso },
        Limit: limit,
      }),
    );
    return Items.map((item) => parseItem(OperationItemSchema, item, 'operations log entry'));
  }
}

const operationShape = {
  at: z.string(),
  event: z.string(),
  actor: z.string(),
  subject: z.string(),
  details: z.optional(z.record(z.string(), z.unknown())),
} satisfies Record<keyof OperationEntry, z.ZodMiniType>;

/** A stored entry (loose: a field a newer writer added survives a read). */
const OperationItemSchema: z.ZodMiniType<OperationEntry> = z.looseObject(operationShape);
