import { randomBytes } from 'node:crypto';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isActive, type Silence, type SilenceTarget } from '../core/silence.ts';
import { compact, type DocumentClient, isConditionalCheckFailed, withoutKeys } from './dynamo.ts';

const PK = 'SILENCE';

/** How long an ended silence stays listed (for `rca retry` of its tickets) before DynamoDB TTL deletes it. */
const KEPT_AFTER_END_SECONDS = 7 * 86_400;

export class SilenceNotFoundError extends Error {
  override readonly name = 'SilenceNotFoundError';
}

/**
 * Silences in the single table: items `SILENCE` / `<silenceId>` in one partition, so the intake reads
 * every silence with one Query (there are few). Each carries `expires_at` = its end + 7 days: DynamoDB
 * TTL deletes it on its own; whether it is in force is decided from `until`, never from the deletion.
 */
export class SilenceRepository {
  readonly #client: DocumentClient;
  readonly #tableName: string;
  readonly #clock: () => number;

  constructor(options: {
    readonly client: DocumentClient;
    readonly tableName: string;
    readonly clock?: () => number;
  }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#clock = options.clock ?? Date.now;
  }

  async add(
    input: SilenceTarget & { readonly until: number; readonly reason: string; readonly createdBy: string },
  ): Promise<Silence> {
    const now = this.#clock();
    const silence: Silence = compact({
      silenceId: `SIL-${randomBytes(6).toString('hex')}`,
      clusterId: input.clusterId,
      workspaceId: input.workspaceId,
      errorType: input.errorType,
      reason: input.reason,
      createdBy: input.createdBy,
      startsAt: new Date(now).toISOString(),
      until: new Date(input.until).toISOString(),
    });
    await this.#client.send(
      new PutCommand({
        TableName: this.#tableName,
        Item: { ...silence, pk: PK, sk: silence.silenceId, expires_at: expiresAt(input.until) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return silence;
  }

  /** Every silence still stored (active and recently ended), newest end first. One Query. */
  async list(): Promise<Silence[]> {
    const silences: Silence[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': PK },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) silences.push(withoutKeys(item) as unknown as Silence);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return silences.sort((a, b) => Date.parse(b.until) - Date.parse(a.until));
  }

  /** The silences in force now. */
  async active(): Promise<Silence[]> {
    const now = this.#clock();
    return (await this.list()).filter((silence) => isActive(silence, now));
  }

  /** Ends a silence now; it stays listed as ended until TTL removes it. */
  async remove(silenceId: string, by: string): Promise<Silence> {
    const now = this.#clock();
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk: PK, sk: silenceId },
          UpdateExpression:
            'SET endedAt = if_not_exists(endedAt, :at), endedBy = if_not_exists(endedBy, :by), expires_at = :expires',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: {
            ':at': new Date(now).toISOString(),
            ':by': by,
            ':expires': expiresAt(now),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return withoutKeys(Attributes ?? {}) as unknown as Silence;
    } catch (error) {
      if (isConditionalCheckFailed(error))
        throw new SilenceNotFoundError(`silence ${silenceId} does not exist (or expired)`);
      throw error;
    }
  }
}

function expiresAt(endMs: number): number {
  return Math.floor(endMs / 1000) + KEPT_AFTER_END_SECONDS;
}
