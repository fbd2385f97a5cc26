import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { compact } from '../core/json.ts';
import { isActive, type Silence, type SilenceTarget, silenceScopeOf } from '../core/silence.ts';
import * as z from '../core/zod.ts';
import { backoffMs, isConditionalCheckFailed, parseItem } from './dynamo.ts';
import { TableRepository } from './repository.ts';

const PK = 'SILENCE';
const MARKER_SK = 'SILENCE_SCOPE';

/** The marker item of a silence scope (`silenceScopeOf`), which the ticket write checks. */
export function silenceMarkerKey(scope: string): { pk: string; sk: string } {
  return { pk: `SILENCE_SCOPE#${scope}`, sk: MARKER_SK };
}

/**
 * The condition a ticket write puts on each marker of the failure's scopes: no silence of the scope is
 * in force. `until` is an ISO timestamp (as `toISOString` writes it), so the strings compare as times.
 */
export function silenceClearCondition(now: number): {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
} {
  return {
    ConditionExpression: 'attribute_not_exists(pk) OR #until <= :now',
    ExpressionAttributeNames: { '#until': 'until' },
    ExpressionAttributeValues: { ':now': new Date(now).toISOString() },
  };
}

/** What a scope's marker holds: the silence of the scope that ends last. */
export interface SilenceMarker {
  readonly scope: string;
  readonly silenceId: string;
  readonly reason: string;
  /** ISO timestamp. */
  readonly until: string;
  /** Bumped by every add and recompute, so that a recompute never overwrites an add it did not see. */
  readonly version: number;
}

/** How long an ended silence stays listed (for `rca retry` of its tickets) before DynamoDB TTL deletes it. */
const KEPT_AFTER_END_SECONDS = 7 * 86_400;

export class SilenceNotFoundError extends Error {
  override readonly name = 'SilenceNotFoundError';
}

/**
 * The silences as a deferred start reads them (the workflow task's drain of the cap's queue needs no
 * more, and its bundle carries no more): `SilenceRepository` below adds and removes them.
 */
export class SilenceReader extends TableRepository {
  /** Every silence still stored (active and recently ended), newest end first. One Query. */
  async list(): Promise<Silence[]> {
    const items = await this.readPartition(PK, { consistent: true });
    const silences = items.map((item) => parseItem(SilenceItemSchema, item, 'silence'));
    return silences.sort((a, b) => Date.parse(b.until) - Date.parse(a.until));
  }

  /** The silences in force now. */
  async active(): Promise<Silence[]> {
    const now = this.clock();
    return (await this.list()).filter((silence) => isActive(silence, now));
  }
}

/**
 * Silences in the single table: items `SILENCE` / `<silenceId>` in one partition, so the intake reads
 * every silence with one Query (there are few). Each carries `expires_at` = its end + 7 days: DynamoDB
 * TTL deletes it on its own; whether it is in force is decided from `until`, never from the deletion.
 *
 * Beside them, one marker item per silenced scope (`SILENCE_SCOPE#<scope>`) holds the latest `until`
 * among the scope's silences: the ticket write checks the failure's markers in its own transaction, so
 * the intake reads the silences only when one of them is in force. `add` raises the marker, `remove`
 * recomputes it from the scope's remaining silences (or deletes it); a silence that runs out needs
 * nothing, as the check compares `until` with the time of the write (and TTL deletes the marker later).
 */
export class SilenceRepository extends SilenceReader {
  async add(
    input: SilenceTarget & { readonly until: number; readonly reason: string; readonly createdBy: string },
  ): Promise<Silence> {
    const now = this.clock();
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
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...silence, pk: PK, sk: silence.silenceId, expires_at: expiresAt(input.until) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    // After the silence is stored: a recompute that runs meanwhile either lists it or sees the bump.
    await this.#raiseMarker(silence);
    return silence;
  }

  /** The marker of a scope (`silenceScopeOf`), if one is stored. */
  async marker(scope: string): Promise<SilenceMarker | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: silenceMarkerKey(scope), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : parseItem(SilenceMarkerItemSchema, Item, 'silence marker');
  }

  /** until = max(until, the silence's): one conditional update, and a version bump when it is lower. */
  async #raiseMarker(silence: Silence): Promise<void> {
    const scope = silenceScopeOf(silence);
    const key = silenceMarkerKey(scope);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression:
            'SET #scope = :scope, #until = :until, silenceId = :id, reason = :reason, expires_at = :expires ADD version :one',
          ConditionExpression: 'attribute_not_exists(pk) OR #until < :until',
          ExpressionAttributeNames: { '#scope': 'scope', '#until': 'until' },
          ExpressionAttributeValues: {
            ':scope': scope,
            ':until': silence.until,
            ':id': silence.silenceId,
            ':reason': silence.reason,
            ':expires': expiresAt(Date.parse(silence.until)),
            ':one': 1,
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // A silence of the scope ends later already; the bump tells a concurrent recompute to start over.
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'ADD version :one',
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
    }
  }

  /**
   * Sets a scope's marker from its silences still in force (the one ending last), or deletes it when
   * none is; conditional on the marker's version, so an add that lands meanwhile is never lost.
   */
  async #recomputeMarker(scope: string): Promise<void> {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const seen = await this.marker(scope);
      const now = this.clock();
      const latest = (await this.list()).find(
        (silence) => isActive(silence, now) && silenceScopeOf(silence) === scope,
      );
      const unchanged =
        seen === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: 'version = :seen',
              ExpressionAttributeValues: { ':seen': seen.version },
            };
      try {
        if (latest === undefined) {
          if (seen === undefined) return;
          await this.client.send(
            new DeleteCommand({ TableName: this.tableName, Key: silenceMarkerKey(scope), ...unchanged }),
          );
        } else {
          await this.client.send(
            new PutCommand({
              TableName: this.tableName,
              Item: {
                ...silenceMarkerKey(scope),
                scope,
                until: latest.until,
                silenceId: latest.silenceId,
                reason: latest.reason,
                version: (seen?.version ?? 0) + 1,
                expires_at: expiresAt(Date.parse(latest.until)),
              },
              ...unchanged,
            }),
          );
        }
        return;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        await sleep(backoffMs(attempt));
      }
    }
    throw new Error(`the silence marker of ${scope} kept changing; run the removal again`);
  }

  /** Ends a silence now; it stays listed as ended until TTL removes it. */
  async remove(silenceId: string, by: string): Promise<Silence> {
    const now = this.clock();
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
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
      const ended = parseItem(SilenceItemSchema, Attributes ?? {}, 'silence');
      await this.#recomputeMarker(silenceScopeOf(ended));
      return ended;
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

const silenceShape = {
  silenceId: z.string(),
  reason: z.string(),
  createdBy: z.string(),
  startsAt: z.string(),
  until: z.string(),
  endedAt: z.optional(z.string()),
  endedBy: z.optional(z.string()),
  clusterId: z.optional(z.string()),
  workspaceId: z.optional(z.string()),
  errorType: z.optional(z.string()),
} satisfies Record<keyof Silence, z.ZodMiniType>;

/** A stored silence (loose: a field a newer writer added survives a read). */
const SilenceItemSchema: z.ZodMiniType<Silence> = z.looseObject(silenceShape);

const markerShape = {
  scope: z.string(),
  silenceId: z.string(),
  reason: z.string(),
  until: z.string(),
  version: z.number(),
} satisfies Record<keyof SilenceMarker, z.ZodMiniType>;

const SilenceMarkerItemSchema: z.ZodMiniType<SilenceMarker> = z.looseObject(markerShape);
