import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CursorRepository } from '../../functions/store/cursors.ts';
import { createTestTable, type TestTable } from '../support/dynamodb.ts';

const T0 = Date.parse('2026-03-02T12:00:00.000Z');
let table: TestTable;
let repository: CursorRepository;

beforeAll(async () => {
  table = await createTestTable('cursors');
  repository = new CursorRepository({
    client: table.documentClient,
    tableName: table.tableName,
    clock: () => T0,
  });
});

afterAll(async () => {
  await table?.destroy();
});

describe('CursorRepository', () => {
  it('has no cursor for a workspace that was never polled', async () => {
    // Act
    const cursor = await repository.get('never-polled');

    // Assess
    expect(cursor).toBeUndefined();
  });

  it('stores the first cursor of a workspace with the facts of the poll', async () => {
    // Act
    const result = await repository.advance('ws-first', T0, { clustersListed: 12 });

    // Assess
    expect(result.advanced).toBe(true);
    expect(await repository.get('ws-first')).toEqual({
      workspaceId: 'ws-first',
      polledUntil: T0,
      updatedAt: new Date(T0).toISOString(),
      details: { clustersListed: 12 },
    });
  });

  it('moves a cursor forward', async () => {
    // Prepare
    await repository.advance('ws-forward', T0);

    // Act
    const result = await repository.advance('ws-forward', T0 + 300_000);

    // Assess
    expect(result).toMatchObject({ advanced: true, cursor: { polledUntil: T0 + 300_000 } });
    expect((await repository.get('ws-forward'))?.polledUntil).toBe(T0 + 300_000);
  });

  it.each([
    ['an older time', T0 - 300_000],
    ['the same time', T0],
  ])('leaves the cursor where it is when a run tries to move it to %s', async (_label, time) => {
    // Prepare
    const workspaceId = `ws-back-${time}`;
    await repository.advance(workspaceId, T0, { run: 'later' });

    // Act
    const result = await repository.advance(workspaceId, time, { run: 'earlier' });

    // Assess
    expect(result.advanced).toBe(false);
    expect(result.cursor).toMatchObject({ polledUntil: T0, details: { run: 'later' } });
    expect((await repository.get(workspaceId))?.polledUntil).toBe(T0);
  });

  it('keeps the latest time when overlapping runs advance the same cursor at once', async () => {
    // Prepare
    const times = Array.from({ length: 20 }, (_, i) => T0 + i * 1000);

    // Act
    const results = await Promise.all(times.reverse().map((time) => repository.advance('ws-race', time)));

    // Assess
    expect((await repository.get('ws-race'))?.polledUntil).toBe(T0 + 19_000);
    expect(results.filter((r) => r.advanced).length).toBeGreaterThanOrEqual(1);
  });

  it('stores the poller memory even when the cursor does not move', async () => {
    // Prepare
    await repository.advance('ws-memory', T0, undefined, { settled: { 'stuck#c1#1': 1 } });
    const memory = {
      failing: { 'state_loss#c2#5': { runs: 2, since: '2026-03-02T11:50:00.000Z', error: 'x' } },
    };

    // Act
    const result = await repository.advance('ws-memory', T0 - 60_000, undefined, memory);

    // Assess
    expect(result.advanced).toBe(false);
    expect(await repository.get('ws-memory')).toMatchObject({ polledUntil: T0, memory });
  });

  it('remembers without moving the cursor, and not at all for a workspace without one', async () => {
    // Prepare
    await repository.advance('ws-remember', T0);
    const memory = {
      setAside: { 'termination#c3#7': { at: '2026-03-02T12:00:00.000Z', runs: 3, error: 'x' } },
    };

    // Act
    const stored = await repository.remember('ws-remember', memory);
    const nowhere = await repository.remember('ws-no-cursor', memory);

    // Assess
    expect([stored, nowhere]).toEqual([true, false]);
    expect(await repository.get('ws-remember')).toMatchObject({ polledUntil: T0, memory });
    expect(await repository.get('ws-no-cursor')).toBeUndefined();
  });

  it.each([Number.NaN, -1, 1.5])('rejects %s as a cursor time', async (time) => {
    // Act
    const advancing = repository.advance('ws-invalid', time);

    // Assess
    await expect(advancing).rejects.toThrow(RangeError);
  });

  it('remembers where the reconciler stopped, and forgets it when told to start over', async () => {
    // Prepare
    const before = await repository.getReconcilePosition();

    // Act
    await repository.setReconcilePosition('opaque-position');
    const stored = await repository.getReconcilePosition();
    await repository.setReconcilePosition(undefined);
    const cleared = await repository.getReconcilePosition();

    // Assess
    expect(before).toBeUndefined();
    expect(stored).toBe('opaque-position');
    expect(cleared).toBeUndefined();
  });
});
