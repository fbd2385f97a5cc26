import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type {
  Breaker,
  BreakerConfig,
  BreakerState,
  BreakerStep,
  BreakerTransition,
} from '../core/breaker.ts';
import * as logic from '../core/breaker.ts';
import * as z from '../core/zod.ts';
import { backoffMs, cancellationCodes, isConditionalCheckFailed, parseItem, queryAll } from './dynamo.ts';
import { type RepositoryOptions, retentionSeconds, TableRepository } from './repository.ts';

/** What a breaker operation did. `transition: 'opened'` is the seed's "Circuit breaker opened" alert. */
export interface BreakerResult {
  readonly scope: string;
  readonly state: BreakerState;
  readonly transition?: BreakerTransition;
  readonly changed: boolean;
  readonly reason: string;
  readonly breaker: Breaker;
}

export interface AcquireResult extends BreakerResult {
  readonly allowed: boolean;
  /** This ticket holds the half-open probe of the scope. */
  readonly probe: boolean;
}

export interface AcquireAllResult {
  /** True only if every scope allowed the recovery. */
  readonly allowed: boolean;
  /** The first scope that blocked, when not allowed. */
  readonly blockedBy?: string;
  /** One result per scope that was asked, in order. */
  readonly results: readonly AcquireResult[];
  /** Probes claimed on other scopes and given back because a later scope blocked. */
  readonly released: readonly BreakerResult[];
}

/** Too many concurrent writers kept changing the breaker; the caller may retry later. */
export class BreakerContentionError extends Error {
  override readonly name = 'BreakerContentionError';
  readonly scope: string;
  constructor(scope: string, attempts: number) {
    super(`breaker ${scope} changed under us ${attempts} times in a row; retry the operation`);
    this.scope = scope;
  }
}

export interface BreakerRepositoryOptions extends RepositoryOptions {
  /** @default DEFAULT_BREAKER_CONFIG */
  readonly config?: Partial<BreakerConfig>;
  /** Read-decide-write rounds before giving up under contention. @default 40 */
  readonly maxAttempts?: number;
  /** Entries of the breakers' history expire (DynamoDB TTL) this long after they were written. @default 90 */
  readonly historyRetentionDays?: number;
}

/** One entry of the breakers' history: a breaker opened (by failures, a failed probe, or by hand). */
export interface BreakerOpening {
  readonly scope: string;
  /** ISO timestamp. */
  readonly at: string;
  readonly reason: string;
  /** Opened by hand (`rca breaker open`). */
  readonly manual: boolean;
}

const BREAKER_SK = 'BREAKER';
const HISTORY_PK = 'BREAKER_HISTORY';

/**
 * Circuit breakers in DynamoDB: item `BREAKER#<scope>` / `BREAKER`, indexed on `gsi1` by state.
 * Every change is a read, a pure decision (`functions/core/breaker.ts`) and a Put conditional on the
 * version read, retried on conflict — so concurrent writers never lose an update.
 */
export class BreakerRepository extends TableRepository {
  readonly #config: BreakerConfig;
  readonly #maxAttempts: number;
  readonly #historyRetentionSeconds: number;

  constructor(options: BreakerRepositoryOptions) {
    super(options);
    this.#config = logic.resolveBreakerConfig(options.config);
    this.#maxAttempts = options.maxAttempts ?? 40;
    this.#historyRetentionSeconds = retentionSeconds(options.historyRetentionDays);
  }

  get config(): BreakerConfig {
    return this.#config;
  }

  /** The stored breaker, or undefined if the scope never had one (it behaves as closed). */
  async get(scope: string): Promise<Breaker | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: breakerKey(scope), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : parseItem(BreakerItemSchema, Item, 'breaker');
  }

  /** Breakers currently in `state` (for dashboards and the operator CLI). */
  async listByState(state: BreakerState, limit = 100): Promise<Breaker[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': `BREAKERS#${state}` },
        Limit: limit,
      }),
    );
    return Items.map((item) => parseItem(BreakerItemSchema, item, 'breaker'));
  }

  /**
   * The breakers opened at or after `sinceIso`, oldest first: every opening is written to the history
   * in the same transaction as the breaker itself, so a breaker closed since is still counted.
   */
  async openedSince(sinceIso: string, limit = 1000): Promise<BreakerOpening[]> {
    const items = await queryAll(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk >= :since',
        ExpressionAttributeValues: { ':pk': HISTORY_PK, ':since': sinceIso },
      },
      limit,
    );
    return items.map((item) => parseItem(BreakerOpeningItemSchema, item, 'breaker history entry'));
  }

  /** May a recovery for `ticketId` proceed? Moving an expired open breaker to half-open claims its probe. */
  async acquire(scope: string, ticketId: string, now = this.clock()): Promise<AcquireResult> {
    const step = await this.#mutate(scope, now, (breaker) =>
      logic.acquire(breaker, ticketId, now, this.#config),
    );
    return { ...result(scope, step), allowed: step.allowed, probe: step.probe };
  }

  /** Gives back the probe `ticketId` claimed, when it will not run after all. */
  async release(scope: string, ticketId: string, now = this.clock()): Promise<BreakerResult> {
    return result(scope, await this.#mutate(scope, now, (breaker) => logic.release(breaker, ticketId, now)));
  }

  async recordSuccess(scope: string, ticketId: string, now = this.clock()): Promise<BreakerResult> {
    return result(
      scope,
      await this.#mutate(scope, now, (breaker) => logic.recordSuccess(breaker, ticketId, now)),
    );
  }

  async recordFailure(scope: string, ticketId: string, now = this.clock()): Promise<BreakerResult> {
    return result(
      scope,
      await this.#mutate(scope, now, (breaker) => logic.recordFailure(breaker, ticketId, now, this.#config)),
    );
  }

  /** Opens the breaker by hand (maintenance); without `until` (epoch ms) it stays open until closed by hand. */
  async forceOpen(scope: string, reason: string, until?: number, now = this.clock()): Promise<BreakerResult> {
    return result(
      scope,
      await this.#mutate(scope, now, (breaker) => logic.forceOpen(breaker, reason, now, until)),
    );
  }

  async forceClose(scope: string, reason: string, now = this.clock()): Promise<BreakerResult> {
    return result(scope, await this.#mutate(scope, now, (breaker) => logic.forceClose(breaker, reason, now)));
  }

  /**
   * Acquires every scope for one recovery; it proceeds only if all allow. A read-only check first
   * avoids claiming anything when a scope is plainly blocked; if a scope still blocks after an earlier
   * one handed this ticket its probe, that probe is released so the earlier scope is not held hostage.
   */
  async acquireAll(
    scopes: readonly string[],
    ticketId: string,
    now = this.clock(),
  ): Promise<AcquireAllResult> {
    const unique = [...new Set(scopes)];
    const current = await Promise.all(
      unique.map(async (scope) => (await this.get(scope)) ?? logic.newBreaker(scope, now)),
    );
    const preview: AcquireResult[] = current.map((breaker) => {
      const step = logic.acquire(breaker, ticketId, now, this.#config);
      return {
        scope: breaker.scope,
        state: breaker.state,
        changed: false,
        reason: step.reason,
        breaker,
        allowed: step.allowed,
        probe: false,
      };
    });
    const blocked = preview.find((check) => !check.allowed);
    if (blocked !== undefined) {
      return { allowed: false, blockedBy: blocked.scope, results: preview, released: [] };
    }

    const results: AcquireResult[] = [];
    for (const scope of unique) {
      const acquired = await this.acquire(scope, ticketId, now);
      results.push(acquired);
      if (!acquired.allowed) {
        const released: BreakerResult[] = [];
        for (const earlier of results) {
          if (earlier.probe) released.push(await this.release(earlier.scope, ticketId, now));
        }
        return { allowed: false, blockedBy: scope, results, released };
      }
    }
    return { allowed: true, results, released: [] };
  }

  async #mutate<S extends BreakerStep>(
    scope: string,
    now: number,
    decide: (breaker: Breaker) => S,
  ): Promise<S> {
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const stored = await this.get(scope);
      const step = decide(stored ?? logic.newBreaker(scope, now));
      if (!step.changed) return step;
      const put = {
        TableName: this.tableName,
        Item: {
          ...step.breaker,
          ...breakerKey(scope),
          gsi1pk: `BREAKERS#${step.breaker.state}`,
          gsi1sk: scope,
        },
        ConditionExpression: stored === undefined ? 'attribute_not_exists(pk)' : '#version = :version',
        ...(stored === undefined
          ? {}
          : {
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':version': stored.version },
            }),
      };
      try {
        // An opening is rare and goes into the history in the same write; anything else is one Put.
        if (step.transition === 'opened') {
          await this.client.send(
            new TransactWriteCommand({
              TransactItems: [
                { Put: put },
                { Put: { TableName: this.tableName, Item: this.#opening(step, now) } },
              ],
            }),
          );
        } else {
          await this.client.send(new PutCommand(put));
        }
        return step;
      } catch (error) {
        const codes = cancellationCodes(error) ?? [];
        const conflict = codes.some((c) => c === 'ConditionalCheckFailed' || c === 'TransactionConflict');
        if (!isConditionalCheckFailed(error) && !conflict) throw error;
        await sleep(backoffMs(attempt));
      }
    }
    throw new BreakerContentionError(scope, this.#maxAttempts);
  }

  #opening(step: BreakerStep, now: number): Record<string, unknown> {
    const at = new Date(now).toISOString();
    const opening: BreakerOpening = {
      scope: step.breaker.scope,
      at,
      reason: step.reason,
      manual: step.breaker.manual !== undefined,
    };
    return {
      ...opening,
      pk: HISTORY_PK,
      sk: `${at}#${randomBytes(4).toString('hex')}`,
      expires_at: Math.floor(now / 1000) + this.#historyRetentionSeconds,
    };
  }
}

/** The key of a scope's breaker item (also checked by the ticket repository's open). */
export function breakerKey(scope: string): { pk: string; sk: string } {
  return { pk: `BREAKER#${scope}`, sk: BREAKER_SK };
}

function result(scope: string, step: BreakerStep): BreakerResult {
  const base = {
    scope,
    state: step.breaker.state,
    changed: step.changed,
    reason: step.reason,
    breaker: step.breaker,
  };
  return step.transition === undefined ? base : { ...base, transition: step.transition };
}

const breakerShape = {
  scope: z.string(),
  state: z.enum(['closed', 'open', 'half_open']),
  recentFailures: z.array(z.object({ ticketId: z.string(), at: z.number() })),
  totalFailures: z.number(),
  openedAt: z.optional(z.number()),
  openUntil: z.optional(z.number()),
  manual: z.optional(z.object({ reason: z.string(), at: z.number(), until: z.optional(z.number()) })),
  probe: z.optional(z.object({ ticketId: z.string(), at: z.number() })),
  reason: z.string(),
  updatedAt: z.number(),
  version: z.number(),
} satisfies Record<keyof Breaker, z.ZodMiniType>;

/** A stored breaker (loose: a field a newer writer added survives a read). */
const BreakerItemSchema: z.ZodMiniType<Breaker> = z.looseObject(breakerShape);

const openingShape = {
  scope: z.string(),
  at: z.string(),
  reason: z.string(),
  manual: z.boolean(),
} satisfies Record<keyof BreakerOpening, z.ZodMiniType>;

const BreakerOpeningItemSchema: z.ZodMiniType<BreakerOpening> = z.looseObject(openingShape);
