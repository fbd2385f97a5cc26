import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterScope, errorTypeScope } from '../../functions/core/breaker.ts';
import {
  type BreakerOpening,
  BreakerRepository,
  type BreakerRepositoryOptions,
} from '../../functions/store/breakers.ts';
import type { DocumentClient } from '../../functions/store/dynamo.ts';
import { createTestTable, type TestTable } from '../support/dynamodb.ts';

const T0 = Date.parse('2025-01-02T10:00:00.000Z');
const MINUTE = 60_000;
let table: TestTable;
let scopes = 0;

/** A scope no other test touches. */
function freshScope(): string {
  scopes += 1;
  return clusterScope('ws1', `cluster-${scopes}`);
}

function repository(options: Partial<BreakerRepositoryOptions> = {}): BreakerRepository {
  return new BreakerRepository({
    client: table.documentClient,
    tableName: table.tableName,
    clock: () => T0,
    ...options,
  });
}

/** Opens `scope` with three failures at T0 (cool-down 30 minutes). */
async function openAtT0(breakers: BreakerRepository, scope: string): Promise<void> {
  for (const ticketId of ['RCA-F1', 'RCA-F2', 'RCA-F3']) await breakers.recordFailure(scope, ticketId, T0);
}

beforeAll(async () => {
  table = await createTestTable('breakers');
});

afterAll(async () => {
  await table?.destroy();
});

describe('BreakerRepository', () => {
  it('allows a recovery on a scope it has never seen, without writing anything', async () => {
    // Prepare
    const breakers = repository();
    const scope = freshScope();

    // Act
    const result = await breakers.acquire(scope, 'RCA-1');

    // Assess
    expect(result).toMatchObject({ allowed: true, state: 'closed', changed: false });
    expect(await breakers.get(scope)).toBeUndefined();
  });

  it('opens on the third failure and says so', async () => {
    // Prepare
    const breakers = repository();
    const scope = freshScope();

    // Act
    const results = [];
    for (const ticketId of ['RCA-1', 'RCA-2', 'RCA-3'])
      results.push(await breakers.recordFailure(scope, ticketId));

    // Assess
    expect(results.map((result) => result.transition)).toEqual([undefined, undefined, 'opened']);
    expect(await breakers.get(scope)).toMatchObject({ state: 'open', totalFailures: 3, version: 3 });
    expect((await breakers.listByState('open')).map((breaker) => breaker.scope)).toContain(scope);
  });

  it.each([
    { failureThreshold: 3, state: 'open', recent: 20 },
    { failureThreshold: 100, state: 'closed', recent: 20 },
  ])(
    'counts all of 20 concurrent failures (threshold $failureThreshold → $state)',
    async ({ failureThreshold, state, recent }) => {
      // Prepare
      const breakers = repository({ config: { failureThreshold } });
      const scope = freshScope();

      // Act
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => breakers.recordFailure(scope, `RCA-C${i}`, T0 + i)),
      );

      // Assess
      const stored = await breakers.get(scope);
      expect(stored).toMatchObject({ state, totalFailures: 20, version: 20 });
      expect(new Set(stored?.recentFailures.map((failure) => failure.ticketId)).size).toBe(recent);
      expect(results.filter((result) => result.transition === 'opened')).toHaveLength(
        state === 'open' ? 1 : 0,
      );
    },
  );

  it('lets exactly one of 10 concurrent callers probe an expired open breaker', async () => {
    // Prepare
    const breakers = repository();
    const scope = freshScope();
    await openAtT0(breakers, scope);
    const later = T0 + 31 * MINUTE;

    // Act
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => breakers.acquire(scope, `RCA-P${i}`, later)),
    );

    // Assess
    const allowed = results.filter((result) => result.allowed);
    expect(allowed).toHaveLength(1);
    expect(allowed[0]).toMatchObject({ probe: true, transition: 'half_opened', state: 'half_open' });
    expect(results.filter((result) => result.transition === 'half_opened')).toHaveLength(1);
    const stored = await breakers.get(scope);
    expect(stored?.probe?.ticketId).toBe(allowed[0]?.breaker.probe?.ticketId);
  });

  it.each([
    { outcome: 'success', state: 'closed', transition: 'closed' },
    { outcome: 'failure', state: 'open', transition: 'opened' },
  ])(
    "moves a half-open breaker to $state on the probe's $outcome",
    async ({ outcome, state, transition }) => {
      // Prepare
      const breakers = repository();
      const scope = freshScope();
      await openAtT0(breakers, scope);
      const probeAt = T0 + 30 * MINUTE;
      await breakers.acquire(scope, 'RCA-PROBE', probeAt);

      // Act
      const result =
        outcome === 'success'
          ? await breakers.recordSuccess(scope, 'RCA-PROBE', probeAt + MINUTE)
          : await breakers.recordFailure(scope, 'RCA-PROBE', probeAt + MINUTE);

      // Assess
      expect(result).toMatchObject({ state, transition, changed: true });
      expect(await breakers.get(scope)).toMatchObject({ state });
    },
  );

  it('keeps a breaker opened by hand shut until its until-time, then half-opens it', async () => {
    // Prepare
    const breakers = repository();
    const scope = errorTypeScope('DatabricksCloudQuotaExceeded');
    const until = T0 + 4 * 3600_000;
    const opened = await breakers.forceOpen(scope, 'quota increase pending', until, T0);

    // Act
    const before = await breakers.acquire(scope, 'RCA-1', until - 1);
    const after = await breakers.acquire(scope, 'RCA-2', until);

    // Assess
    expect(opened.transition).toBe('opened');
    expect(before).toMatchObject({ allowed: false, state: 'open' });
    expect(before.reason).toContain('quota increase pending');
    expect(after).toMatchObject({ allowed: true, state: 'half_open', transition: 'half_opened' });
  });

  it('closes a breaker by hand', async () => {
    // Prepare
    const breakers = repository();
    const scope = freshScope();
    await breakers.forceOpen(scope, 'maintenance');

    // Act
    const result = await breakers.forceClose(scope, 'maintenance over');

    // Assess
    expect(result).toMatchObject({ transition: 'closed', state: 'closed' });
    expect(await breakers.acquire(scope, 'RCA-1')).toMatchObject({ allowed: true });
  });
});

describe('acquireAll', () => {
  it('allows a recovery when every scope allows it, and again for the same ticket', async () => {
    // Prepare
    const breakers = repository();
    const cluster = freshScope();
    const errorType = errorTypeScope(`Type${scopes}`);
    await openAtT0(breakers, cluster);
    const later = T0 + 31 * MINUTE;

    // Act
    const first = await breakers.acquireAll([cluster, errorType], 'RCA-1', later);
    const retried = await breakers.acquireAll([cluster, errorType], 'RCA-1', later + 1);

    // Assess
    expect(first.allowed).toBe(true);
    expect(first.results.map((result) => result.transition)).toEqual(['half_opened', undefined]);
    expect(retried.allowed).toBe(true);
    expect(retried.results.every((result) => !result.changed)).toBe(true);
  });

  it('claims nothing when a scope is plainly blocked', async () => {
    // Prepare
    const breakers = repository();
    const cluster = freshScope();
    const errorType = errorTypeScope(`Type${scopes}`);
    await openAtT0(breakers, cluster);
    await breakers.forceOpen(errorType, 'maintenance');
    const later = T0 + 31 * MINUTE;

    // Act
    const result = await breakers.acquireAll([cluster, errorType], 'RCA-1', later);

    // Assess
    expect(result).toMatchObject({ allowed: false, blockedBy: errorType, released: [] });
    expect(await breakers.get(cluster)).toMatchObject({ state: 'open' });
    expect(await breakers.get(cluster)).not.toHaveProperty('probe');
  });

  it('releases a probe it claimed when a later scope blocks in the meantime', async () => {
    // Prepare
    const cluster = freshScope();
    const errorType = errorTypeScope(`Type${scopes}`);
    const plain = repository();
    await openAtT0(plain, cluster);
    await openAtT0(plain, errorType);
    const later = T0 + 31 * MINUTE;
    let raced = false;
    // A real client that lets a competing intake claim the error-type probe right after our first write.
    const racingClient: DocumentClient = {
      send: (async (command: unknown) => {
        const output = await table.documentClient.send(command as PutCommand);
        if (!raced && command instanceof PutCommand && command.input.Item?.scope === cluster) {
          raced = true;
          await plain.acquire(errorType, 'RCA-COMPETITOR', later);
        }
        return output;
      }) as DocumentClient['send'],
    };
    const breakers = repository({ client: racingClient });

    // Act
    const result = await breakers.acquireAll([cluster, errorType], 'RCA-1', later);

    // Assess
    expect(raced).toBe(true);
    expect(result).toMatchObject({ allowed: false, blockedBy: errorType });
    expect(result.released.map((released) => [released.scope, released.transition])).toEqual([
      [cluster, 'probe_released'],
    ]);
    const clusterBreaker = await plain.get(cluster);
    expect(clusterBreaker).toMatchObject({ state: 'half_open' });
    expect(clusterBreaker).not.toHaveProperty('probe');
    expect(await plain.acquire(cluster, 'RCA-2', later + 1)).toMatchObject({ allowed: true, probe: true });
  });

  it('keeps every opening in its history — by failures, by a failed probe, by hand — after the breaker closes again', async () => {
    // Prepare
    const breakers = repository();
    const scope = freshScope();
    const manual = freshScope();
    const later = T0 + 31 * MINUTE;
    const iso = (ms: number) => new Date(ms).toISOString();
    const ours = (openings: BreakerOpening[]) =>
      openings.filter((o) => o.scope === scope || o.scope === manual);
    await openAtT0(breakers, scope);
    await breakers.acquire(scope, 'RCA-PROBE', later);
    await breakers.recordFailure(scope, 'RCA-PROBE', later + MINUTE);
    await breakers.forceOpen(manual, 'maintenance', undefined, later);
    await breakers.forceOpen(manual, 'still maintenance', undefined, later + MINUTE);
    await breakers.forceClose(manual, 'done', later + 2 * MINUTE);
    await breakers.forceClose(scope, 'done', later + 2 * MINUTE);

    // Act
    const all = ours(await breakers.openedSince(iso(T0)));
    const sinceLater = ours(await breakers.openedSince(iso(later)));

    // Assess
    expect(all.map((o) => [o.scope, o.at, o.manual])).toEqual([
      [scope, iso(T0), false],
      [manual, iso(later), true],
      [scope, iso(later + MINUTE), false],
    ]);
    expect(sinceLater).toHaveLength(2);
    expect(await breakers.get(scope)).toMatchObject({ state: 'closed' });
  });
});
