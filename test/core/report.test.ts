import { describe, expect, it } from 'vitest';
import type { Ticket } from '../../functions/core/ticket.ts';
import { buildReport } from '../../functions/ops/report.ts';

const SINCE = Date.parse('2026-11-29T12:00:00Z');
const UNTIL = Date.parse('2026-11-30T12:00:00Z');

function ticket(id: string, fields: Partial<Ticket>): Ticket {
  return {
    ticketId: id,
    incidentKey: id,
    status: 'open',
    recoveryStatus: 'in_progress',
    workspaceId: 'default',
    source: 'webhook',
    errorType: 'DatabricksDriverNotResponding',
    category: 'driver',
    action: 'restart_cluster',
    reason: 'test',
    detectedAt: '2026-11-30T10:00:00Z',
    attempts: 0,
    createdAt: '2026-11-30T10:00:00Z',
    updatedAt: '2026-11-30T10:00:00Z',
    version: 1,
    ...fields,
  } as Ticket;
}

describe('buildReport', () => {
  it("gives the seed's figures per error type: counts and average acknowledgement and resolution times", () => {
    // Prepare
    const tickets = [
      ticket('A', { status: 'closed', recoveryStatus: 'recovered', ackSeconds: 2, resolutionSeconds: 100 }),
      ticket('B', { status: 'closed', recoveryStatus: 'recovered', ackSeconds: 4, resolutionSeconds: 200 }),
      ticket('C', { status: 'escalated', recoveryStatus: 'failed', ackSeconds: 3, resolutionSeconds: 600 }),
      ticket('D', {
        errorType: 'DatabricksResourceExhausted',
        status: 'silenced',
        recoveryStatus: 'silenced',
      }),
      ticket('E', { status: 'in_progress' }),
    ];

    // Act
    const report = buildReport(tickets, [], { since: SINCE, until: UNTIL });

    // Assess
    expect(report).toMatchObject({
      hours: 24,
      failures: 5,
      recoveries: 2,
      escalations: 1,
      silenced: 1,
      open: 1,
    });
    expect(report.by_error_type).toEqual([
      {
        error_type: 'DatabricksDriverNotResponding',
        failures: 4,
        avg_ack_seconds: 3,
        avg_resolution_seconds: 300,
        recovered: 2,
        escalated: 1,
      },
      {
        error_type: 'DatabricksResourceExhausted',
        failures: 1,
        avg_ack_seconds: null,
        avg_resolution_seconds: null,
        recovered: 0,
        escalated: 0,
      },
    ]);
  });

  it.each([
    { at: '2026-11-30T11:00:00Z', manual: false, counted: 1 },
    { at: '2026-11-30T11:00:00Z', manual: true, counted: 1 },
    { at: '2026-11-29T12:00:00Z', manual: false, counted: 1 },
    { at: '2026-11-29T11:59:59Z', manual: false, counted: 0 },
    { at: '2026-11-30T12:00:01Z', manual: false, counted: 0 },
  ])('counts a breaker opened at $at (by hand: $manual): $counted', ({ at, manual, counted }) => {
    // Prepare
    const opening = { scope: 'error_type#X', at, reason: 'test', manual };

    // Act
    const report = buildReport([], [opening], { since: SINCE, until: UNTIL });

    // Assess
    expect(report.breakers_opened).toBe(counted);
    expect(report.breaker_openings).toHaveLength(counted);
  });
});
