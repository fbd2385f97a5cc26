import { type DocumentClient, queryAll } from './dynamo.ts';

/** What every repository over the single table is built with. */
export interface RepositoryOptions {
  readonly client: DocumentClient;
  readonly tableName: string;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** The options of a repository whose items expire (DynamoDB TTL). */
export interface RetentionOptions {
  /** Items expire this long after they were written. @default 90 */
  readonly retentionDays?: number;
}

/** Seconds of a retention given in days (`expires_at` is epoch seconds). @default 90 days */
export function retentionSeconds(days: number | undefined): number {
  return Math.round((days ?? 90) * 86_400);
}

/** A repository over the single table: its client, table and clock, resolved once. */
export abstract class TableRepository {
  protected readonly client: DocumentClient;
  readonly tableName: string;
  protected readonly clock: () => number;

  constructor(options: RepositoryOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? Date.now;
  }

  /** Every item of one partition, in sort-key order, page after page. */
  protected async readPartition(pk: string, options: { readonly consistent: boolean }) {
    return queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ...(options.consistent ? { ConsistentRead: true } : {}),
    });
  }
}
