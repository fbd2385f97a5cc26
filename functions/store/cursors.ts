import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../core/zod.ts';
import { conditionHeld, isConditionalCheckFailed, parseItem } from './dynamo.ts';
import { type RepositoryOptions, TableRepository } from './repository.ts';

/** How far the poller has looked at a workspace. */
export interface PollCursor {
  readonly workspaceId: string;
  /**
   * Epoch ms: every failure observed before this time has been recorded. The next poll looks at
   * changes after it, minus an overlap.
   */
  readonly polledUntil: number;
  /** ISO timestamp of the write that last moved the cursor. */
  readonly updatedAt: string;
  /** Free-form facts about the poll that wrote the cursor (clusters listed, failures found, …). */
  readonly details?: Readonly<Record<string, unknown>>;
  /** What the poller carries from one run to the next, written by every run that lists completely. */
  readonly memory?: PollMemory;
}

/**
 * The poller's memory of a workspace. Items are candidates and failures, keyed like
 * `state_loss#<cluster>#<time>`, `stuck#<cluster>#<time>`, `termination#<cluster>#<time>`.
 */
export interface PollMemory {
  /**
   * Items settled by an earlier run that are still listed as candidates (a driver loss whose events
   * were read, a stuck start already ticketed): not looked up again. Value: the item's time.
   */
  readonly settled?: Readonly<Record<string, number>>;
  /** Items that failed in consecutive runs. */
  readonly failing?: Readonly<Record<string, FailingItem>>;
  /** Items given up on: skipped, and no longer holding the cursor back. */
  readonly setAside?: Readonly<Record<string, SetAsideItem>>;
}

export interface FailingItem {
  /** Consecutive runs in which the item failed. */
  readonly runs: number;
  /** ISO timestamp of the first of them. */
  readonly since: string;
  readonly error: string;
}

export interface SetAsideItem {
  /** ISO timestamp of the run that set it aside. */
  readonly at: string;
  readonly runs: number;
  readonly error: string;
}

export interface AdvanceResult {
  /** False when the stored cursor was already at or past the requested time (an overlapping run). */
  readonly advanced: boolean;
  /** The cursor as stored after the call. */
  readonly cursor: PollCursor;
}

export interface CursorRepositoryOptions extends RepositoryOptions {}

const CURSOR_SK = 'CURSOR';
const RECONCILE_SK = 'RECONCILE';
// '#' cannot occur in a workspace id, so this key never meets a workspace's cursor.
const RECONCILE_PK = 'CURSOR#reconcile#in_progress';

/**
 * Poll cursors in the single table: item `CURSOR#<workspaceId>` / `CURSOR`. A cursor only moves
 * forward: the write is conditional on the stored time being older, so two overlapping poller runs
 * cannot move it backwards. The reconciler's resume position over in-progress tickets lives beside
 * them (`CURSOR#reconcile#in_progress` / `RECONCILE`).
 */
export class CursorRepository extends TableRepository {
  /** The workspace's cursor, or undefined before its first complete poll. */
  async get(workspaceId: string): Promise<PollCursor | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: cursorKey(workspaceId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : parseItem(PollCursorItemSchema, Item, 'poll cursor');
  }

  /**
   * Moves the cursor to `polledUntil` if it is later than the stored one. An older or equal time
   * leaves the stored cursor alone and reports `advanced: false`; `memory` is stored either way.
   */
  async advance(
    workspaceId: string,
    polledUntil: number,
    details?: Readonly<Record<string, unknown>>,
    memory?: PollMemory,
  ): Promise<AdvanceResult> {
    if (!Number.isSafeInteger(polledUntil) || polledUntil < 0) {
      throw new RangeError(`polledUntil must be epoch milliseconds, got ${polledUntil}`);
    }
    const cursor: PollCursor = {
      workspaceId,
      polledUntil,
      updatedAt: new Date(this.clock()).toISOString(),
      ...(details === undefined ? {} : { details: JSON.parse(JSON.stringify(details)) }),
      ...(memory === undefined ? {} : { memory: JSON.parse(JSON.stringify(memory)) }),
    };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...cursorKey(workspaceId), ...cursor },
          ConditionExpression: 'attribute_not_exists(pk) OR #until < :until',
          ExpressionAttributeNames: { '#until': 'polledUntil' },
          ExpressionAttributeValues: { ':until': polledUntil },
        }),
      );
      return { advanced: true, cursor };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      if (memory !== undefined) await this.remember(workspaceId, memory);
      const stored = await this.get(workspaceId);
      if (stored === undefined) throw error;
      return { advanced: false, cursor: stored };
    }
  }

  /**
   * Stores the poller's memory of a workspace without moving its cursor. False when the workspace
   * has no cursor yet: the memory of a poll that never listed completely is not kept.
   */
  async remember(workspaceId: string, memory: PollMemory): Promise<boolean> {
    return conditionHeld(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: cursorKey(workspaceId),
          UpdateExpression: 'SET #memory = :memory',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#memory': 'memory' },
          ExpressionAttributeValues: { ':memory': JSON.parse(JSON.stringify(memory)) },
        }),
      ),
    );
  }

  /** Where the reconciler stopped in the list of in-progress tickets (an opaque page cursor). */
  async getReconcilePosition(): Promise<string | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: RECONCILE_PK, sk: RECONCILE_SK },
        ConsistentRead: true,
      }),
    );
    return typeof Item?.position === 'string' ? Item.position : undefined;
  }

  /** Records where the next reconciler run resumes; undefined starts it from the beginning again. */
  async setReconcilePosition(position: string | undefined): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: RECONCILE_PK,
          sk: RECONCILE_SK,
          updatedAt: new Date(this.clock()).toISOString(),
          ...(position === undefined ? {} : { position }),
        },
      }),
    );
  }
}

function cursorKey(workspaceId: string): { pk: string; sk: string } {
  return { pk: `CURSOR#${workspaceId}`, sk: CURSOR_SK };
}

const cursorShape = {
  workspaceId: z.string(),
  polledUntil: z.number(),
  updatedAt: z.string(),
  details: z.optional(z.record(z.string(), z.unknown())),
  // The poller's own record, written and read by the poller only: checked to be an object here.
  memory: z.optional(
    z.custom<PollMemory>((value) => typeof value === 'object' && value !== null && !Array.isArray(value)),
  ),
} satisfies Record<keyof PollCursor, z.ZodMiniType>;

/** A stored cursor (loose: a field a newer writer added survives a read). */
const PollCursorItemSchema: z.ZodMiniType<PollCursor> = z.looseObject(cursorShape);
