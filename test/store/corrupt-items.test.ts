import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BreakerRepository } from '../../functions/store/breakers.ts';
import { CursorRepository } from '../../functions/store/cursors.ts';
import { CorruptItemError } from '../../functions/store/dynamo.ts';
import { OperationsLog } from '../../functions/store/operations-log.ts';
import { RestoreRepository } from '../../functions/store/restores.ts';
import { SilenceRepository } from '../../functions/store/silences.ts';
import { TicketRepository } from '../../functions/store/tickets.ts';
import { WorkspaceRepository } from '../../functions/store/workspaces.ts';
import cases from '../fixtures/store/corrupt-items.json' with { type: 'json' };
import { createTestTable, type TestTable } from '../support/dynamodb.ts';

interface CorruptCase {
  readonly name: string;
  readonly kind: keyof typeof kinds;
  readonly set?: Readonly<Record<string, unknown>>;
  readonly remove?: readonly string[];
  readonly field: string;
}

/** Per kind: write one valid item through its repository (giving its partition), and read it back. */
interface Kind {
  /** The partition of the item, and its sort key where the partition holds more than one. */
  create(n: number): Promise<{ readonly pk: string; readonly sk?: string }>;
  read(n: number): Promise<unknown>;
}

let table: TestTable;
const T0 = Date.parse('2025-01-02T10:00:00.000Z');

const kinds = {
  ticket: {
    async create() {
      const opened = await tickets().openTicket({
        incidentKey: `ws1#cluster#0102-abc#terminated#${Math.random()}`,
        workspaceId: 'ws1',
        clusterId: '0102-abc',
        source: 'poller',
        errorType: 'DatabricksDriverNotResponding',
        category: 'driver',
        action: 'restart_cluster',
        reason: 'DRIVER_UNREACHABLE',
        recoveryStatus: 'in_progress',
      });
      if (opened.outcome !== 'created') throw new Error('the ticket was not created');
      lastTicketId = opened.ticket.ticketId;
      return { pk: `TICKET#${opened.ticket.ticketId}`, sk: 'TICKET' };
    },
    read: () => tickets().getTicket(lastTicketId),
  },
  breaker: {
    async create(n) {
      await new BreakerRepository(options()).recordFailure(`cluster:ws1:c${n}`, 'RCA-1', T0);
      return { pk: `BREAKER#cluster:ws1:c${n}` };
    },
    read: (n) => new BreakerRepository(options()).get(`cluster:ws1:c${n}`),
  },
  silence: {
    async create() {
      await new SilenceRepository(options()).add({
        workspaceId: 'ws1',
        until: T0 + 3_600_000,
        reason: 'maintenance',
        createdBy: 'operator',
      });
      return { pk: 'SILENCE' };
    },
    read: () => new SilenceRepository(options()).list(),
  },
  workspace: {
    async create(n) {
      const entry = { id: `ws${n}`, host: 'https://example.invalid', credentialsSecretName: 'databricks/ws' };
      await new WorkspaceRepository(options()).put(entry, { actor: 'operator', source: 'operator' });
      return { pk: 'WORKSPACES' };
    },
    read: () => new WorkspaceRepository(options()).list(),
  },
  cursor: {
    async create(n) {
      await new CursorRepository(options()).advance(`ws${n}`, T0);
      return { pk: `CURSOR#ws${n}` };
    },
    read: (n) => new CursorRepository(options()).get(`ws${n}`),
  },
  restore: {
    async create(n) {
      await new RestoreRepository(options()).put({
        workspaceId: `ws${n}`,
        clusterId: 'c1',
        ticketId: 'RCA-1',
        original: { fields: ['node_type_id'], values: { node_type_id: 'i3.xlarge' } },
      });
      return { pk: `RESTORE#ws${n}` };
    },
    read: (n) => new RestoreRepository(options()).list(`ws${n}`),
  },
  operation: {
    async create() {
      await new OperationsLog(options()).append({ event: 'breaker_opened', actor: 'operator', subject: 'x' });
      return { pk: 'OPERATIONS' };
    },
    read: () => new OperationsLog(options()).since('2000-01-01T00:00:00.000Z'),
  },
} satisfies Record<string, Kind>;

let lastTicketId = '';
const options = () => ({ client: table.documentClient, tableName: table.tableName, clock: () => T0 });
const tickets = () => new TicketRepository(options());

/** Every item of a partition, as stored. */
async function partition(pk: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await table.documentClient.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ConsistentRead: true,
    }),
  );
  return Items;
}

/** Edits the first item of a partition behind the repository's back, as a hand edit or a bad migration would. */
async function corrupt(
  item: { readonly pk: string; readonly sk?: string },
  change: Pick<CorruptCase, 'set' | 'remove'>,
): Promise<{ pk: string; sk: string }> {
  const { pk } = item;
  const Items = await partition(pk);
  const sk = item.sk ?? String(Items[0]?.sk);
  const set = Object.entries(change.set ?? {});
  const clauses = [
    set.length > 0 ? `SET ${set.map((_entry, i) => `#s${i} = :s${i}`).join(', ')}` : '',
    (change.remove ?? []).length > 0
      ? `REMOVE ${(change.remove ?? [])
          .map((path, i) =>
            path
              .split('.')
              .map((_, j) => `#r${i}_${j}`)
              .join('.'),
          )
          .join(', ')}`
      : '',
  ];
  await table.documentClient.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: { pk, sk },
      UpdateExpression: clauses.filter((clause) => clause !== '').join(' '),
      ExpressionAttributeNames: Object.fromEntries([
        ...set.map(([name], i) => [`#s${i}`, name]),
        ...(change.remove ?? []).flatMap((path, i) =>
          path.split('.').map((name, j) => [`#r${i}_${j}`, name]),
        ),
      ]),
      ...(set.length > 0
        ? { ExpressionAttributeValues: Object.fromEntries(set.map(([, value], i) => [`:s${i}`, value])) }
        : {}),
    }),
  );
  return { pk, sk };
}

beforeAll(async () => {
  table = await createTestTable('corrupt');
});

afterAll(async () => {
  await table?.destroy();
});

describe('reading a corrupt item', () => {
  it.each((cases as readonly CorruptCase[]).map((c, n) => ({ ...c, n })))(
    'names the item and its bad field for $name',
    async ({ kind, set, remove, field, n }) => {
      // Prepare
      const item = await kinds[kind].create(n);
      await expect(kinds[kind].read(n)).resolves.toBeDefined();
      const { pk, sk } = await corrupt(item, { ...(set ? { set } : {}), ...(remove ? { remove } : {}) });

      // Act
      const read = kinds[kind].read(n);

      // Assess
      await expect(read).rejects.toBeInstanceOf(CorruptItemError);
      const error = (await read.catch((caught: unknown) => caught)) as CorruptItemError;
      expect(error.key).toEqual({ pk, sk });
      expect(error.issues.some((issue) => issue.startsWith(`${field}:`))).toBe(true);
      expect(error.message).toContain(`${pk} / ${sk} is corrupt`);
    },
  );

  it('refuses a transition of a corrupt ticket and writes nothing', async () => {
    // Prepare
    const { pk } = await corrupt(await kinds.ticket.create(), { set: { attempts: 'many' } });
    const before = await partition(pk);

    // Act
    const moved = tickets().transition(lastTicketId, {
      from: ['open'],
      to: 'closed',
      audit: { event: 'ticket_closed', actor: 'test' },
    });

    // Assess
    await expect(moved).rejects.toThrow(/is corrupt: attempts: /);
    const after = await partition(pk);
    expect(after).toEqual(before);
  });
});
