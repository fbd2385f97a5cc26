import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../core/zod.ts';
import { parseItem } from './dynamo.ts';
import { type RepositoryOptions, TableRepository } from './repository.ts';

/**
 * A restore of a cluster's original configuration that waits for the cluster's next natural
 * termination: the workflow recovered it on a fallback (another node type, on-demand capacity), and
 * Databricks applies an update of a RUNNING cluster by restarting it, which the system never does.
 */
export interface PendingRestore {
  readonly workspaceId: string;
  readonly clusterId: string;
  readonly ticketId: string;
  /** The fields the fallback changed and their original values (a field absent from `values` was unset). */
  readonly original: {
    readonly fields: readonly string[];
    readonly values: Readonly<Record<string, unknown>>;
  };
  /**
   * The fallback values the cluster was recovered on: the restore is applied only while the cluster
   * still has them (someone who edited it since has the last word).
   */
  readonly fallback?: {
    readonly fields: readonly string[];
    readonly values: Readonly<Record<string, unknown>>;
  };
  /** ISO timestamp. */
  readonly createdAt?: string;
}

export interface RestoreRepositoryOptions extends RepositoryOptions {}

/**
 * Pending restores, one item per cluster and ticket, in the single table:
 *
 * | item            | pk                       | sk                       |
 * |-----------------|--------------------------|--------------------------|
 * | pending restore | `RESTORE#<workspace id>` | `<cluster id>#<ticket id>` |
 *
 * The poller reads a workspace's pending restores with one Query per run.
 */
export class RestoreRepository extends TableRepository {
  /** Records a pending restore; idempotent (a retried task writes the same item again). */
  async put(restore: PendingRestore): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keyOf(restore),
          ...restore,
          createdAt: restore.createdAt ?? new Date(this.clock()).toISOString(),
        },
      }),
    );
  }

  /** The workspace's pending restores (at most `limit`). */
  async list(workspaceId: string, limit = 100): Promise<PendingRestore[]> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `RESTORE#${workspaceId}` },
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map((item) => parseItem(PendingRestoreItemSchema, item, 'pending restore'));
  }

  async delete(restore: Pick<PendingRestore, 'workspaceId' | 'clusterId' | 'ticketId'>): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: keyOf(restore) }));
  }
}

function keyOf(restore: Pick<PendingRestore, 'workspaceId' | 'clusterId' | 'ticketId'>): {
  pk: string;
  sk: string;
} {
  return { pk: `RESTORE#${restore.workspaceId}`, sk: `${restore.clusterId}#${restore.ticketId}` };
}

const configChange = z.object({ fields: z.array(z.string()), values: z.record(z.string(), z.unknown()) });

const restoreShape = {
  workspaceId: z.string(),
  clusterId: z.string(),
  ticketId: z.string(),
  original: configChange,
  fallback: z.optional(configChange),
  createdAt: z.optional(z.string()),
} satisfies Record<keyof PendingRestore, z.ZodMiniType>;

/** A stored pending restore (loose: a field a newer writer added survives a read). */
const PendingRestoreItemSchema: z.ZodMiniType<PendingRestore> = z.looseObject(restoreShape);
