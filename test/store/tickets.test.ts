import { DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenTicketInput,
  TicketConflictError,
  TicketNotFoundError,
  TicketStateError,
  type TicketStatus,
} from '../../functions/core/ticket.ts';
import { InvalidCursorError } from '../../functions/store/dynamo.ts';
import { TicketRepository } from '../../functions/store/tickets.ts';
import { createTestTable, type TestTable } from '../support/dynamodb.ts';

const DAY = 24 * 3600 * 1000;
let table: TestTable;
let now = Date.parse('2025-01-02T10:00:00.000Z');
const clock = () => now;
let repository: TicketRepository;
let incidents = 0;

/** A ticket input with a fresh incident key; `overrides` set what a test cares about. */
function input(overrides: Partial<OpenTicketInput> = {}): OpenTicketInput {
  incidents += 1;
  return {
    incidentKey: `ws1#cluster#0102-abc#terminated#${1_700_000_000_000 + incidents}`,
    workspaceId: 'ws1',
    clusterId: '0102-abc',
    clusterName: 'Analytics Cluster',
    source: 'poller',
    errorType: 'DatabricksDriverNotResponding',
    category: 'driver',
    action: 'restart_cluster',
    reason: 'DRIVER_UNREACHABLE: the driver stopped responding',
    terminationCode: 'DRIVER_UNREACHABLE',
    terminationType: 'CLIENT_ERROR',
    recoveryStatus: 'in_progress',
    ...overrides,
  };
}

async function rawItems(pk: string): Promise<Record<string, unknown>[]> {
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

beforeAll(async () => {
  table = await createTestTable('tickets');
  repository = new TicketRepository({ client: table.documentClient, tableName: table.tableName, clock });
});

afterAll(async () => {
  await table?.destroy();
});

describe('openTicket', () => {
  it.each([
    ['2025-01-02T00:00:00.000Z', 'RCA-20250102-00000001'],
    ['2025-01-02T12:00:00.000Z', 'RCA-20250102-43200000'],
    ['2025-01-02T23:59:59.999Z', 'RCA-20250102-86399999'],
    ['2025-01-03T01:30:00.000Z', 'RCA-20250103-05400000'],
  ])(
    'numbers a ticket detected and opened at %s by the milliseconds since its UTC midnight',
    async (at, expected) => {
      // Prepare
      now = Date.parse(at);

      // Act
      const { ticket } = await repository.openTicket(input({ detectedAt: at }));

      // Assess
      expect(ticket.ticketId).toBe(expected);
    },
  );

  it('uses the clock as detection time when none is given', async () => {
    // Prepare
    now = Date.parse('2025-02-01T08:00:00.000Z');

    // Act
    const { ticket } = await repository.openTicket(input());

    // Assess
    expect(ticket.ticketId).toBe('RCA-20250201-28800000');
    expect(ticket).toMatchObject({
      status: 'open',
      detectedAt: '2025-02-01T08:00:00.000Z',
      version: 1,
      attempts: 0,
    });
  });

  it('gives increasing, unique numbers within a millisecond and across processes, with no counter item', async () => {
    // Prepare
    now = Date.parse('2025-03-01T00:00:01.000Z');
    const otherProcess = new TicketRepository({
      client: table.documentClient,
      tableName: table.tableName,
      clock,
    });

    // Act
    const first = await repository.openTicket(input());
    const second = await repository.openTicket(input());
    const third = await otherProcess.openTicket(input());

    // Assess
    expect([first, second, third].map((r) => r.ticket.ticketId)).toEqual([
      'RCA-20250301-00001000',
      'RCA-20250301-00001001',
      'RCA-20250301-00001002',
    ]);
    expect(await rawItems('COUNTER#20250301')).toEqual([]);
  });

  it('numbers a ticket for an earlier day past that day, still increasing', async () => {
    // Prepare
    now = Date.parse('2025-03-03T00:00:00.500Z');

    // Act
    const { ticket } = await repository.openTicket(input({ detectedAt: '2025-03-02T23:59:59.000Z' }));

    // Assess
    expect(ticket.ticketId).toBe('RCA-20250302-86400500');
  });

  it('returns the existing ticket for a known incident', async () => {
    // Prepare
    const report = input({ detectedAt: '2025-04-01T10:00:00.000Z' });
    const first = await repository.openTicket(report);

    // Act
    const second = await repository.openTicket({ ...input(), incidentKey: report.incidentKey });

    // Assess
    expect(first.outcome).toBe('created');
    expect(second).toEqual({
      outcome: 'duplicate',
      via: 'incident',
      ticket: { ticketId: first.ticket.ticketId, status: 'open', recoveryStatus: 'in_progress' },
    });
  });

  it('opens exactly one ticket for 50 concurrent reports of the same incident', async () => {
    // Prepare
    const report = input({ detectedAt: '2025-05-01T10:00:00.000Z' });

    // Act
    const results = await Promise.all(Array.from({ length: 50 }, () => repository.openTicket(report)));

    // Assess
    const created = results.filter((result) => result.outcome === 'created');
    const ids = new Set(results.map((result) => result.ticket.ticketId));
    expect(created).toHaveLength(1);
    expect(ids).toEqual(new Set([created[0]?.ticket.ticketId]));
    const incident = await rawItems(`INCIDENT#${report.incidentKey}`);
    expect(incident).toHaveLength(1);
    const stored = await repository.getTicket(created[0]?.ticket.ticketId ?? '');
    expect(stored?.audit.map((entry) => entry.event)).toEqual(['ticket_opened']);
  });

  it('rejects a detection time that is not a timestamp', async () => {
    // Act
    const act = repository.openTicket(input({ detectedAt: 'yesterday' }));

    // Assess
    await expect(act).rejects.toThrow('detectedAt must be an ISO timestamp');
  });
});

describe('transition', () => {
  it('acknowledges on entering in_progress and resolves on closing', async () => {
    // Prepare
    now = Date.parse('2025-06-01T10:00:00.000Z');
    const { ticket } = await repository.openTicket(input({ detectedAt: '2025-06-01T09:59:30.000Z' }));
    now += 15_000;

    // Act
    const started = await repository.transition(ticket.ticketId, {
      from: ['open'],
      to: 'in_progress',
      patch: { executionName: `${ticket.ticketId}-1`, attempts: 1 },
      audit: { event: 'workflow_started', actor: 'intake' },
    });
    now += 300_000;
    const closed = await repository.transition(ticket.ticketId, {
      from: ['in_progress'],
      to: 'closed',
      audit: { event: 'health_check_passed', actor: 'workflow', details: { state: 'RUNNING' } },
    });

    // Assess
    expect(started.previousStatus).toBe('open');
    expect(started.ticket).toMatchObject({
      status: 'in_progress',
      acknowledgedAt: '2025-06-01T10:00:15.000Z',
      ackSeconds: 45,
      executionName: `${ticket.ticketId}-1`,
      attempts: 1,
      version: 2,
    });
    expect(closed.ticket).toMatchObject({
      status: 'closed',
      acknowledgedAt: '2025-06-01T10:00:15.000Z',
      resolvedAt: '2025-06-01T10:05:15.000Z',
      resolutionSeconds: 345,
      version: 3,
    });
    expect(closed.audit.details).toEqual({ state: 'RUNNING', fromStatus: 'in_progress', toStatus: 'closed' });
    expect((await repository.getTicket(ticket.ticketId))?.ticket).toEqual(closed.ticket);
  });

  it.each<{ status: TicketStatus; path: TicketStatus[]; from: TicketStatus[]; to: TicketStatus }>([
    { status: 'open', path: [], from: ['in_progress'], to: 'closed' },
    { status: 'in_progress', path: ['in_progress'], from: ['in_progress'], to: 'open' },
    { status: 'closed', path: ['closed'], from: ['open', 'in_progress'], to: 'in_progress' },
    { status: 'closed', path: ['closed'], from: ['closed'], to: 'escalated' },
    { status: 'suppressed', path: ['suppressed'], from: ['suppressed'], to: 'closed' },
    { status: 'escalated', path: ['in_progress', 'escalated'], from: ['escalated'], to: 'in_progress' },
  ])(
    'refuses to move a $status ticket to $to when allowed from $from',
    async ({ status, path, from, to }) => {
      // Prepare
      const { ticket } = await repository.openTicket(input({ detectedAt: '2025-06-02T10:00:00.000Z' }));
      let previous: TicketStatus = 'open';
      for (const step of path) {
        await repository.transition(ticket.ticketId, {
          from: [previous],
          to: step,
          audit: { event: step, actor: 'test' },
        });
        previous = step;
      }

      // Act
      const act = repository.transition(ticket.ticketId, {
        from,
        to,
        audit: { event: 'illegal', actor: 'test' },
      });

      // Assess
      await expect(act).rejects.toBeInstanceOf(TicketStateError);
      await expect(act).rejects.toMatchObject({ currentStatus: status, requestedStatus: to });
      const stored = await repository.getTicket(ticket.ticketId);
      expect(stored?.ticket.status).toBe(status);
      expect(stored?.audit.map((entry) => entry.event)).not.toContain('illegal');
    },
  );

  it('lets an escalated ticket be closed by a human', async () => {
    // Prepare
    const { ticket } = await repository.openTicket(input({ detectedAt: '2025-06-03T10:00:00.000Z' }));
    await repository.transition(ticket.ticketId, {
      from: ['open'],
      to: 'escalated',
      patch: { escalationReason: 'quota' },
      audit: { event: 'escalated', actor: 'workflow' },
    });

    // Act
    const closed = await repository.transition(ticket.ticketId, {
      from: ['escalated'],
      to: 'closed',
      audit: { event: 'closed_by_operator', actor: 'alice' },
    });

    // Assess
    expect(closed.ticket).toMatchObject({ status: 'closed', escalationReason: 'quota' });
    expect(closed.ticket.acknowledgedAt).toBeUndefined();
  });

  it('throws TicketNotFoundError for a ticket that does not exist', async () => {
    // Act
    const act = repository.transition('RCA-19990101-001', {
      from: ['open'],
      to: 'in_progress',
      audit: { event: 'workflow_started', actor: 'intake' },
    });

    // Assess
    await expect(act).rejects.toBeInstanceOf(TicketNotFoundError);
  });

  it('throws TicketConflictError when the expected version is stale', async () => {
    // Prepare
    const { ticket } = await repository.openTicket(input({ detectedAt: '2025-06-04T10:00:00.000Z' }));
    await repository.appendAudit(ticket.ticketId, { event: 'note', actor: 'test' });
    await repository.transition(ticket.ticketId, {
      from: ['open'],
      to: 'open',
      audit: { event: 'x', actor: 'test' },
    });

    // Act
    const act = repository.transition(ticket.ticketId, {
      from: ['open'],
      to: 'in_progress',
      expectedVersion: 1,
      audit: { event: 'workflow_started', actor: 'intake' },
    });

    // Assess
    await expect(act).rejects.toBeInstanceOf(TicketConflictError);
  });

  it('lets exactly one of 10 concurrent starts move an open ticket to in_progress', async () => {
    // Prepare
    const { ticket } = await repository.openTicket(input({ detectedAt: '2025-06-05T10:00:00.000Z' }));

    // Act
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        repository.transition(ticket.ticketId, {
          from: ['open'],
          to: 'in_progress',
          patch: { executionName: `exec-${i}` },
          audit: { event: 'workflow_started', actor: `starter-${i}` },
        }),
      ),
    );

    // Assess
    const fulfilled = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected.every((outcome) => outcome.reason instanceof TicketStateError)).toBe(true);
    const stored = await repository.getTicket(ticket.ticketId);
    expect(stored?.ticket.version).toBe(2);
    expect(stored?.audit.filter((entry) => entry.event === 'workflow_started')).toHaveLength(1);
  });
});

describe('audit trail', () => {
  it('returns the entries in the order they happened, including those in the same millisecond', async () => {
    // Prepare
    now = Date.parse('2025-07-01T10:00:00.000Z');
    const { ticket } = await repository.openTicket(input());
    await repository.appendAudit(ticket.ticketId, { event: 'breaker_checked', actor: 'intake' });
    await repository.appendAudit(ticket.ticketId, { event: 'notification_sent', actor: 'intake' });
    now += 1;
    await repository.transition(ticket.ticketId, {
      from: ['open'],
      to: 'in_progress',
      audit: { event: 'workflow_started', actor: 'intake' },
    });
    now += 60_000;
    await repository.appendAudit(ticket.ticketId, { event: 'health_check_passed', actor: 'workflow' });

    // Act
    const stored = await repository.getTicket(ticket.ticketId);

    // Assess
    expect(stored?.audit.map((entry) => entry.event)).toEqual([
      'ticket_opened',
      'breaker_checked',
      'notification_sent',
      'workflow_started',
      'health_check_passed',
    ]);
    expect(stored?.audit.map((entry) => entry.at)).toEqual([
      '2025-07-01T10:00:00.000Z',
      '2025-07-01T10:00:00.000Z',
      '2025-07-01T10:00:00.000Z',
      '2025-07-01T10:00:00.001Z',
      '2025-07-01T10:01:00.001Z',
    ]);
    expect(stored?.audit[0]).toMatchObject({ ticketId: ticket.ticketId, actor: 'poller' });
  });

  it('refuses to append to a ticket that does not exist', async () => {
    // Act
    const act = repository.appendAudit('RCA-19990101-002', { event: 'note', actor: 'test' });

    // Assess
    await expect(act).rejects.toBeInstanceOf(TicketNotFoundError);
  });

  it('sets the TTL attribute on audit items only', async () => {
    // Prepare
    now = Date.parse('2025-07-02T10:00:00.000Z');
    const report = input();
    const { ticket } = await repository.openTicket(report);
    await repository.appendAudit(ticket.ticketId, {
      event: 'note',
      actor: 'test',
      details: { dropped: undefined },
    });

    // Act
    const items = await rawItems(`TICKET#${ticket.ticketId}`);
    const incident = await rawItems(`INCIDENT#${report.incidentKey}`);
    const ttl = await table.client.send(new DescribeTimeToLiveCommand({ TableName: table.tableName }));

    // Assess
    const audit = items.filter((item) => String(item.sk).startsWith('AUDIT#'));
    const others = [...items.filter((item) => item.sk === 'TICKET'), ...incident];
    expect(audit).toHaveLength(2);
    expect(others).toHaveLength(2);
    const expected = Math.floor(now / 1000) + 90 * 24 * 3600;
    for (const item of audit) expect(item.expires_at).toBe(expected);
    for (const item of others) expect(item).not.toHaveProperty('expires_at');
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: 'expires_at',
      TimeToLiveStatus: 'ENABLED',
    });
  });

  it('honours a custom retention', async () => {
    // Prepare
    const shortLived = new TicketRepository({
      client: table.documentClient,
      tableName: table.tableName,
      clock,
      auditRetentionDays: 7,
    });
    const { ticket } = await shortLived.openTicket(input());

    // Act
    const items = await rawItems(`TICKET#${ticket.ticketId}`);

    // Assess
    const audit = items.find((item) => String(item.sk).startsWith('AUDIT#'));
    expect(audit?.expires_at).toBe(Math.floor(now / 1000) + (7 * DAY) / 1000);
  });
});

describe('listing', () => {
  it('pages through the tickets in a status, oldest detection first', async () => {
    // Prepare
    const fresh = await createTestTable('tickets-list');
    const store = new TicketRepository({ client: fresh.documentClient, tableName: fresh.tableName, clock });
    const detections = ['2025-08-01T12:00:00.000Z', '2025-08-01T09:00:00.000Z', '2025-08-01T10:00:00.000Z'];
    const opened = [];
    for (const detectedAt of detections) opened.push((await store.openTicket(input({ detectedAt }))).ticket);
    const moved = opened[2]?.ticketId ?? '';
    await store.transition(moved, {
      from: ['open'],
      to: 'in_progress',
      audit: { event: 'x', actor: 'test' },
    });

    // Act
    const first = await store.listByStatus('open', 1);
    const second = await store.listByStatus('open', 1, first.cursor);
    const inProgress = await store.listByStatus('in_progress', 10);

    // Assess
    expect(first.tickets.map((t) => t.detectedAt)).toEqual(['2025-08-01T09:00:00.000Z']);
    expect(second.tickets.map((t) => t.detectedAt)).toEqual(['2025-08-01T12:00:00.000Z']);
    expect(inProgress.tickets.map((t) => t.ticketId)).toEqual([moved]);
    expect(inProgress.tickets[0]).not.toHaveProperty('gsi1pk');
    await fresh.destroy();
  });

  it('rejects a cursor it did not issue', async () => {
    // Act
    const act = repository.listByStatus('open', 10, 'not-a-cursor');

    // Assess
    await expect(act).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it.each<{ label: string; to: TicketStatus; recoveryStatus: string; listed: boolean }>([
    { label: 'stays listed while still pending', to: 'open', recoveryStatus: 'start_pending', listed: true },
    {
      label: 'leaves the list once the workflow starts',
      to: 'in_progress',
      recoveryStatus: 'in_progress',
      listed: false,
    },
    {
      label: 'leaves the list when escalated',
      to: 'escalated',
      recoveryStatus: 'start_pending',
      listed: false,
    },
  ])('lists a start_pending ticket for the reconciler and $label', async ({ to, recoveryStatus, listed }) => {
    // Prepare
    const fresh = await createTestTable('tickets-pending');
    const store = new TicketRepository({ client: fresh.documentClient, tableName: fresh.tableName, clock });
    const pending = (await store.openTicket(input({ recoveryStatus: 'start_pending' }))).ticket;
    const started = (await store.openTicket(input({ recoveryStatus: 'in_progress' }))).ticket;
    const before = await store.listStartPending();

    // Act
    await store.transition(pending.ticketId, {
      from: ['open'],
      to,
      patch: { recoveryStatus },
      audit: { event: 'reconciled', actor: 'poller' },
    });
    const after = await store.listStartPending();

    // Assess
    expect(before.tickets.map((t) => t.ticketId)).toEqual([pending.ticketId]);
    expect(after.tickets.map((t) => t.ticketId)).toEqual(listed ? [pending.ticketId] : []);
    expect(after.tickets.map((t) => t.ticketId)).not.toContain(started.ticketId);
    const { Items = [] } = await fresh.documentClient.send(
      new QueryCommand({
        TableName: fresh.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'RECONCILE#start_pending' },
      }),
    );
    expect(Items).toHaveLength(listed ? 1 : 0);
    await fresh.destroy();
  });
});
