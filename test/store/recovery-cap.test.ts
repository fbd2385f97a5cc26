import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalRequired, parseRecoveryCap } from '../../functions/core/fleet.ts';
import type { Playbook } from '../../functions/core/playbooks.ts';
import { RecoveryCapRepository } from '../../functions/store/recovery-cap.ts';
import { createTestTable, type TestTable } from '../support/dynamodb.ts';

const APPROVAL_DEFAULTS = JSON.parse(
  readFileSync(new URL('../fixtures/fleet/approval-defaults.json', import.meta.url), 'utf8'),
) as { name: string; playbook: Playbook; required: boolean }[];

describe('the approval gate default', () => {
  it.each(APPROVAL_DEFAULTS)('requires approval for $name: $required', ({ playbook, required }) => {
    // Act
    const decided = approvalRequired(playbook);

    // Assess
    expect(decided).toBe(required);
  });
});

describe('RECOVERY_CAP', () => {
  it.each([
    [undefined, 'prod', 5],
    ['{"default": 3}', 'prod', 3],
    ['{"default": 3, "workspaces": {"prod": 10}}', 'prod', 10],
    ['{"workspaces": {"prod": 10}}', 'dev', 5],
  ])('reads %s as a cap of %s for %s', (raw, workspaceId, cap) => {
    // Act
    const config = parseRecoveryCap(raw);

    // Assess
    expect(config.workspaces[workspaceId] ?? config.default).toBe(cap);
  });

  it.each([
    ['not json', 'must be JSON'],
    ['{"default": 0}', 'default'],
    ['{"defualt": 3}', 'defualt'],
  ])('refuses %s naming the problem', (raw, says) => {
    // Act + Assess
    expect(() => parseRecoveryCap(raw)).toThrow(says);
  });
});

describe('RecoveryCapRepository against DynamoDB Local', () => {
  let table: TestTable;
  let cap: RecoveryCapRepository;
  const request = { workspaceId: 'prod', cap: 2, leaseSeconds: 600 };
  beforeAll(async () => {
    table = await createTestTable('cap');
    cap = new RecoveryCapRepository({ client: table.documentClient, tableName: table.tableName });
  });
  afterAll(async () => {
    await table.destroy();
  });

  it('gives at most the cap in slots, the same ticket its slot once, and a slot back once', async () => {
    // Act
    const first = await cap.acquire(request, 'RCA-1', 'RCA-1');
    const again = await cap.acquire(request, 'RCA-1', 'RCA-1');
    const second = await cap.acquire(request, 'RCA-2', 'RCA-2');
    const third = await cap.acquire(request, 'RCA-3', 'RCA-3');
    const released = await cap.release('prod', 'RCA-1');
    const releasedAgain = await cap.release('prod', 'RCA-1');
    const afterRelease = await cap.acquire(request, 'RCA-3', 'RCA-3');
    const lease = await cap.get('prod');

    // Assess
    expect([first, again, second, third]).toEqual(['acquired', 'held', 'acquired', 'full']);
    expect([released, releasedAgain, afterRelease]).toEqual([true, false, 'acquired']);
    expect(lease.active).toBe(2);
    expect(lease.slots.map((s) => s.ticketId).sort()).toEqual(['RCA-2', 'RCA-3']);
    expect(lease.slots.every((s) => s.expiresAt - s.acquiredAt === 600_000)).toBe(true);
  });

  it('never frees a slot taken again since the one a reclaim looked at', async () => {
    // Prepare
    const lease = await cap.get('prod');
    const slot = lease.slots.find((s) => s.ticketId === 'RCA-2');

    // Act
    const stale = await cap.release('prod', 'RCA-2', (slot?.acquiredAt ?? 0) - 1);
    const current = await cap.release('prod', 'RCA-2', slot?.acquiredAt);

    // Assess
    expect([stale, current]).toEqual([false, true]);
  });

  it('counts 20 concurrent acquisitions of a cap of 5 right: 5 slots, 15 refusals', async () => {
    // Act
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        cap.acquire({ workspaceId: 'burst', cap: 5, leaseSeconds: 60 }, `T-${i}`, `T-${i}`),
      ),
    );

    // Assess
    expect(results.filter((r) => r === 'acquired').length).toBe(5);
    expect(results.filter((r) => r === 'full').length).toBe(15);
    expect((await cap.get('burst')).active).toBe(5);
  });
});
