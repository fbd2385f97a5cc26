/**
 * Outage correlation in the single table (decisions in `core/outage.ts`):
 *
 * | item   | pk              | sk              | attributes                                                       |
 * |--------|-----------------|-----------------|------------------------------------------------------------------|
 * | window | `OUTAGE_WINDOW` | `<ws>#<class>`  | `m#<cluster>`: `{ at, incidentKey }`, `outageId` while one is open, `resetAt` |
 * | outage | `OUTAGE`        | `<outageId>`    | the outage; `child#<ticket>`: the child's evidence                |
 *
 * Exactly one outage per class and workspace at a time: opening one sets the window's `outageId` on
 * the condition that it has none, in the same transaction as the outage's put. Of two failures that
 * both make K concurrently, one opens the outage; the other's transaction is cancelled and it joins.
 * Ending an outage (released, escalated, resolved) is conditional on its status and clears the
 * window's `outageId` in the same write, so a later failure starts a new count.
 *
 * The items' keys, conversions and transaction items are in `outage-items.ts`; the repository with
 * the deployment's rules (`OutageCorrelator`) in `outage-correlator.ts`.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { compact } from '../core/json.ts';
import type {
  Outage,
  OutageChild,
  OutageClass,
  OutageRule,
  OutageStatus,
  OutageWindow,
  WindowMember,
} from '../core/outage.ts';
import {
  backoffMs,
  cancellationReasons,
  type DocumentClient,
  isConditionalCheckFailed,
  queryAll,
} from './dynamo.ts';
import {
  CHILD_PREFIX,
  endItems,
  MEMBER_PREFIX,
  newOutageId,
  OUTAGE_PK,
  openItems,
  outageKey,
  outageOf,
  probeUpdate,
  windowKey,
  windowOf,
} from './outage-items.ts';
import type { TransactItem } from './ticket-items.ts';

/** Members older than the window are removed once this many have gathered. */
const STALE_CLEANUP = 50;

export class OutageRepository {
  readonly #client: DocumentClient;
  readonly #tableName: string;
  readonly #clock: () => number;
  readonly #maxAttempts: number;

  constructor(options: {
    client: DocumentClient;
    tableName: string;
    clock?: () => number;
    maxAttempts?: number;
  }) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#clock = options.clock ?? Date.now;
    this.#maxAttempts = options.maxAttempts ?? 10;
  }

  /**
   * Counts a failure in its class's window (idempotent per cluster) and returns the window. The same
   * failure reported again (the poller after the webhook) leaves its member as it is, with the ticket
   * its guard write recorded there: that costs a consistent read of the window instead of the write.
   */
  async register(workspaceId: string, outageClass: OutageClass, member: WindowMember): Promise<OutageWindow> {
    const sameIncident = member.incidentKey !== undefined;
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: windowKey(workspaceId, outageClass),
          UpdateExpression: 'SET #m = :m',
          // A member counted before the window's last reset (an ended outage's) is counted anew.
          ...(sameIncident
            ? { ConditionExpression: 'attribute_not_exists(#m) OR #m.#ik <> :ik OR #m.#at <= #resetAt' }
            : {}),
          ExpressionAttributeNames: {
            '#m': `${MEMBER_PREFIX}${member.clusterId}`,
            ...(sameIncident ? { '#ik': 'incidentKey', '#at': 'at', '#resetAt': 'resetAt' } : {}),
          },
          ExpressionAttributeValues: {
            ':m': compact({ at: member.at, incidentKey: member.incidentKey }),
            ...(sameIncident ? { ':ik': member.incidentKey } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return windowOf(Attributes ?? {});
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return this.getWindow(workspaceId, outageClass);
    }
  }

  /**
   * The window write that rides in a ticket's own transaction (`guardItem`): records the ticket with
   * its failure, on the condition that no outage of the class is open (then the ticket is not written
   * and joins the outage instead).
   */
  guardItem(
    workspaceId: string,
    outageClass: OutageClass,
    member: WindowMember,
  ): (ticketId: string) => TransactItem {
    return (ticketId) => ({
      Update: {
        TableName: this.#tableName,
        Key: windowKey(workspaceId, outageClass),
        UpdateExpression: 'SET #m = :m',
        ConditionExpression: 'attribute_not_exists(#outageId)',
        ExpressionAttributeNames: { '#m': `${MEMBER_PREFIX}${member.clusterId}`, '#outageId': 'outageId' },
        ExpressionAttributeValues: {
          ':m': compact({ at: member.at, incidentKey: member.incidentKey, ticketId }),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
  }

  async getWindow(workspaceId: string, outageClass: OutageClass): Promise<OutageWindow> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: windowKey(workspaceId, outageClass),
        ConsistentRead: true,
      }),
    );
    return windowOf(Item ?? {});
  }

  /** Removes members older than `before` (best effort: a member counted again meanwhile is kept). */
  async prune(
    workspaceId: string,
    outageClass: OutageClass,
    window: OutageWindow,
    before: number,
  ): Promise<void> {
    const stale = window.members.filter((m) => m.at < before);
    if (stale.length < STALE_CLEANUP) return;
    const names = Object.fromEntries(
      stale.slice(0, 100).map((m, i) => [`#s${i}`, `${MEMBER_PREFIX}${m.clusterId}`]),
    );
    await this.#client
      .send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: windowKey(workspaceId, outageClass),
          UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`,
          ExpressionAttributeNames: names,
        }),
      )
      .catch(() => undefined);
  }

  /**
   * Opens the outage of a class unless one is open: `opened`, or `exists` with the open one's id
   * (another failure opened it first).
   */
  async open(
    workspaceId: string,
    outageClass: OutageClass,
    rule: OutageRule,
    members: readonly WindowMember[],
    options: { readonly escalates?: boolean } = {},
  ): Promise<
    | { readonly outcome: 'opened'; readonly outage: Outage }
    | { readonly outcome: 'exists'; readonly outageId: string }
  > {
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const now = this.#clock();
      const outage: Outage = {
        outageId: newOutageId(now),
        workspaceId,
        outageClass,
        status: 'probing',
        openedAt: new Date(now).toISOString(),
        threshold: rule.threshold,
        windowMinutes: Math.round(rule.windowMs / 60_000),
        members: members.map((m) => m.clusterId),
        children: [],
        version: 1,
        ...(options.escalates === true ? { escalates: true } : {}),
      };
      try {
        await this.#transact(openItems(this.#tableName, outage));
        return { outcome: 'opened', outage };
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons === undefined) throw error;
        if (reasons[0]?.Code === 'ConditionalCheckFailed') {
          const existing = (await this.getWindow(workspaceId, outageClass)).outageId;
          if (existing !== undefined) return { outcome: 'exists', outageId: existing };
        }
        // A concurrent registration on the window, or an id taken in the same millisecond: again.
        await sleep(backoffMs(attempt));
      }
    }
    throw new Error(`could not open the ${outageClass} outage of workspace ${workspaceId} under contention`);
  }

  async get(outageId: string): Promise<Outage | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: outageKey(outageId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : outageOf(Item);
  }

  /** Every outage, newest first (one Query: outages are few). */
  async list(): Promise<Outage[]> {
    const items = await queryAll(this.#client, {
      TableName: this.#tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': OUTAGE_PK },
      ConsistentRead: true,
    });
    return items.map(outageOf).sort((a, b) => b.openedAt.localeCompare(a.openedAt));
  }

  /** Records a child's evidence on its outage (idempotent per ticket). */
  async addChild(outageId: string, child: OutageChild): Promise<void> {
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#tableName,
        Key: outageKey(outageId),
        UpdateExpression: 'SET #child = :child ADD #version :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#child': `${CHILD_PREFIX}${child.ticketId}`, '#version': 'version' },
        ExpressionAttributeValues: { ':child': compact({ ...child }), ':one': 1 },
      }),
    );
  }

  /** Names the outage's probe; false when it has one already or is no longer probing. */
  claimProbe(outageId: string, ticketId: string): Promise<boolean> {
    return this.#conditional(
      probeUpdate(
        this.#tableName,
        outageId,
        ticketId,
        'attribute_not_exists(#probe) AND #status = :probing',
        {},
      ),
    );
  }

  /** Names `to` the probe in place of `from`; false when the probe is not `from` or it no longer probes. */
  replaceProbe(outageId: string, from: string, to: string): Promise<boolean> {
    return this.#conditional(
      probeUpdate(this.#tableName, outageId, to, '#probe = :from AND #status = :probing', { ':from': from }),
    );
  }

  /**
   * Ends the outage (`from` → `to`) and clears its window in one write; false when its status was not
   * one of `from` (someone else ended it first).
   */
  async end(
    outageId: string,
    from: readonly OutageStatus[],
    to: OutageStatus,
    details: { readonly reason?: string; readonly resolvedBy?: string },
  ): Promise<Outage | undefined> {
    const outage = await this.get(outageId);
    if (outage === undefined || !from.includes(outage.status)) return undefined;
    try {
      await this.#transact(endItems(this.#tableName, outage, { from, to, details, now: this.#clock() }));
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (reasons?.some((r) => r.Code === 'ConditionalCheckFailed')) return undefined;
      // Another end of the same outage in flight (the probe's Close and an operator's resolve): a
      // transient fault — the caller's retry (or the next reconciler run) finds the outage ended.
      if (reasons?.some((r) => r.Code === 'TransactionConflict'))
        throw Object.assign(new Error(`outage ${outageId} is being ended concurrently; try again`), {
          name: 'TransactionConflictException',
        });
      throw error;
    }
    return this.get(outageId);
  }

  async #transact(items: TransactItem[]): Promise<void> {
    await this.#client.send(new TransactWriteCommand({ TransactItems: items }));
  }

  /** Sends a conditional update: false when its condition failed. */
  async #conditional(update: UpdateCommandInput): Promise<boolean> {
    try {
      await this.#client.send(new UpdateCommand(update));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
