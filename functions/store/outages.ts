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
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { compact } from '../core/json.ts';
import {
  correlate,
  membersInWindow,
  type Outage,
  type OutageChild,
  type OutageClass,
  type OutageConfig,
  type OutageRule,
  type OutageStatus,
  type OutageWindow,
  outageRuleOf,
  parseOutageConfig,
  type WindowMember,
} from '../core/outage.ts';
import type { Counted, OutageGate } from '../core/outage-path.ts';
import {
  backoffMs,
  cancellationReasons,
  type DocumentClient,
  isConditionalCheckFailed,
  queryAll,
  withoutKeys,
} from './dynamo.ts';
import { OperationsLog } from './operations-log.ts';
import type { TransactItem } from './ticket-items.ts';

const WINDOW_PK = 'OUTAGE_WINDOW';
const OUTAGE_PK = 'OUTAGE';
const MEMBER_PREFIX = 'm#';
const CHILD_PREFIX = 'child#';
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
      };
      const { children: _children, ...stored } = outage;
      try {
        await this.#client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.#tableName,
                  Key: windowKey(workspaceId, outageClass),
                  UpdateExpression: 'SET #outageId = :id',
                  ConditionExpression: 'attribute_not_exists(#outageId)',
                  ExpressionAttributeNames: { '#outageId': 'outageId' },
                  ExpressionAttributeValues: { ':id': outage.outageId },
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                },
              },
              {
                Put: {
                  TableName: this.#tableName,
                  Item: { ...outageKey(outage.outageId), ...stored },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
            ],
          }),
        );
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
  async claimProbe(outageId: string, ticketId: string): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: outageKey(outageId),
          UpdateExpression: 'SET #probe = :ticket ADD #version :one',
          ConditionExpression: 'attribute_not_exists(#probe) AND #status = :probing',
          ExpressionAttributeNames: { '#probe': 'probeTicketId', '#status': 'status', '#version': 'version' },
          ExpressionAttributeValues: { ':ticket': ticketId, ':probing': 'probing', ':one': 1 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Names `to` the probe in place of `from`; false when the probe is not `from` or it no longer probes. */
  async replaceProbe(outageId: string, from: string, to: string): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: outageKey(outageId),
          UpdateExpression: 'SET #probe = :to ADD #version :one',
          ConditionExpression: '#probe = :from AND #status = :probing',
          ExpressionAttributeNames: { '#probe': 'probeTicketId', '#status': 'status', '#version': 'version' },
          ExpressionAttributeValues: { ':from': from, ':to': to, ':probing': 'probing', ':one': 1 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
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
    const now = this.#clock();
    const fromValues = Object.fromEntries(from.map((status, i) => [`:from${i}`, status]));
    const patch = compact({ reason: details.reason, resolvedBy: details.resolvedBy });
    const patchNames = Object.fromEntries(Object.keys(patch).map((k) => [`#${k}`, k]));
    const patchValues = Object.fromEntries(Object.entries(patch).map(([k, v]) => [`:${k}`, v]));
    try {
      await this.#client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.#tableName,
                Key: outageKey(outageId),
                UpdateExpression: `SET #status = :to, #endedAt = :now${Object.keys(patch)
                  .map((k) => `, #${k} = :${k}`)
                  .join('')} ADD #version :one`,
                ConditionExpression: `#status IN (${Object.keys(fromValues).join(', ')})`,
                ExpressionAttributeNames: {
                  '#status': 'status',
                  '#endedAt': 'endedAt',
                  '#version': 'version',
                  ...patchNames,
                },
                ExpressionAttributeValues: {
                  ':to': to,
                  ':now': new Date(now).toISOString(),
                  ':one': 1,
                  ...fromValues,
                  ...patchValues,
                },
              },
            },
            {
              Update: {
                TableName: this.#tableName,
                Key: windowKey(outage.workspaceId, outage.outageClass),
                UpdateExpression: 'SET #resetAt = :nowMs REMOVE #outageId',
                ConditionExpression: 'attribute_not_exists(#outageId) OR #outageId = :id',
                ExpressionAttributeNames: { '#resetAt': 'resetAt', '#outageId': 'outageId' },
                ExpressionAttributeValues: { ':nowMs': now, ':id': outageId },
              },
            },
          ],
        }),
      );
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
}

/** The repository with the deployment's rules (`OUTAGE_CORRELATION`): what the incident path asks. */
export class OutageCorrelator implements OutageGate {
  readonly repository: OutageRepository;
  readonly config: OutageConfig;
  /** The operations log: each outage's opening is written there too. */
  readonly log: Pick<OperationsLog, 'append'> | undefined;
  readonly #clock: () => number;

  constructor(
    repository: OutageRepository,
    config: OutageConfig,
    options: { readonly clock?: () => number; readonly log?: Pick<OperationsLog, 'append'> } = {},
  ) {
    this.repository = repository;
    this.config = config;
    this.log = options.log;
    this.#clock = options.clock ?? Date.now;
  }

  ruleOf(workspaceId: string): OutageRule {
    return outageRuleOf(this.config, workspaceId);
  }

  addChild(outageId: string, child: OutageChild): Promise<void> {
    return this.repository.addChild(outageId, child);
  }

  /**
   * The failures of the window that were ticketed on their own, as the window counts them now: none
   * from before the last outage's end or older than the window (those belonged to another count).
   */
  async ownTickets(workspaceId: string, outageClass: OutageClass): Promise<readonly WindowMember[]> {
    const window = await this.repository.getWindow(workspaceId, outageClass);
    return membersInWindow(window, this.ruleOf(workspaceId), this.#clock()).filter(
      (m) => m.ticketId !== undefined,
    );
  }

  claimProbe(outageId: string, ticketId: string): Promise<boolean> {
    return this.repository.claimProbe(outageId, ticketId);
  }

  replaceProbe(outageId: string, from: string, to: string): Promise<boolean> {
    return this.repository.replaceProbe(outageId, from, to);
  }

  get(outageId: string): Promise<Outage | undefined> {
    return this.repository.get(outageId);
  }

  list(): Promise<Outage[]> {
    return this.repository.list();
  }

  end(
    outageId: string,
    from: readonly OutageStatus[],
    to: OutageStatus,
    details: { readonly reason?: string; readonly resolvedBy?: string },
  ): Promise<Outage | undefined> {
    return this.repository.end(outageId, from, to, details);
  }

  /**
   * Counts the failure in its window and decides: `none`, `join` an open outage, or `open` (this
   * caller opened it; `outage` is the new one). A failure that would open an outage another one opened
   * first joins that one.
   */
  async correlate(workspaceId: string, outageClass: OutageClass, member: WindowMember): Promise<Counted> {
    const rule = this.ruleOf(workspaceId);
    if (!rule.enabled) return { kind: 'none', count: 0 };
    const window = await this.repository.register(workspaceId, outageClass, member);
    const now = this.#clock();
    await this.repository.prune(workspaceId, outageClass, window, now - rule.windowMs);
    const decision = correlate(window, rule, now);
    if (decision.kind === 'none')
      return { ...decision, guard: this.repository.guardItem(workspaceId, outageClass, member) };
    if (decision.kind !== 'open') return decision;
    const opened = await this.repository.open(workspaceId, outageClass, rule, decision.members);
    if (opened.outcome === 'exists') return { kind: 'join', outageId: opened.outageId };
    await this.log
      ?.append({
        event: 'outage_opened',
        actor: 'system',
        subject: opened.outage.outageId,
        details: { workspaceId, outageClass, members: opened.outage.members, threshold: rule.threshold },
      })
      .catch(() => undefined);
    return { kind: 'opened', outage: opened.outage, members: decision.members };
  }
}

/** The correlator of a deployment: its items in the table, its rules from `OUTAGE_CORRELATION` (JSON). */
export function outageCorrelatorOf(
  client: DocumentClient,
  tableName: string,
  raw: string | undefined,
): OutageCorrelator {
  return new OutageCorrelator(new OutageRepository({ client, tableName }), parseOutageConfig(raw), {
    log: new OperationsLog({ client, tableName }),
  });
}

function windowKey(workspaceId: string, outageClass: OutageClass): { pk: string; sk: string } {
  return { pk: WINDOW_PK, sk: `${workspaceId}#${outageClass}` };
}

function outageKey(outageId: string): { pk: string; sk: string } {
  return { pk: OUTAGE_PK, sk: outageId };
}

let lastMs = 0;

/** `OUT-YYYYMMDD-<ms of the day, 8 digits>-<4 hex>`: sortable by time, unique by the put's condition. */
function newOutageId(now: number): string {
  const ms = Math.max(now, lastMs + 1);
  lastMs = ms;
  const day = new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
  const ofDay = ms % 86_400_000;
  const suffix = Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `OUT-${day}-${String(ofDay).padStart(8, '0')}-${suffix}`;
}

function windowOf(item: Record<string, unknown>): OutageWindow {
  const members: WindowMember[] = [];
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(MEMBER_PREFIX)) continue;
    const member = value as { at?: unknown; incidentKey?: unknown };
    members.push(
      compact({
        clusterId: name.slice(MEMBER_PREFIX.length),
        at: Number(member.at),
        incidentKey: typeof member.incidentKey === 'string' ? member.incidentKey : undefined,
        ticketId:
          typeof (member as { ticketId?: unknown }).ticketId === 'string'
            ? (member as { ticketId: string }).ticketId
            : undefined,
      }),
    );
  }
  members.sort((a, b) => a.at - b.at);
  return compact({
    members,
    outageId: typeof item.outageId === 'string' ? item.outageId : undefined,
    resetAt: typeof item.resetAt === 'number' ? item.resetAt : undefined,
  });
}

function outageOf(item: Record<string, unknown>): Outage {
  const children: OutageChild[] = [];
  const rest: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(withoutKeys(item))) {
    if (name.startsWith(CHILD_PREFIX)) children.push(value as OutageChild);
    else rest[name] = value;
  }
  children.sort((a, b) => a.detectedAt.localeCompare(b.detectedAt) || a.ticketId.localeCompare(b.ticketId));
  return { ...(rest as unknown as Omit<Outage, 'children'>), version: Number(rest.version ?? 1), children };
}
