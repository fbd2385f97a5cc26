import { describe, expect, it } from 'vitest';
import { judge, runSoak } from '../../lib/local/soak.ts';

describe('soak (short)', () => {
  it('runs two simulated hours of failures, benign events, racing users, duplicate and late deliveries and faults without harm', async () => {
    // Act: one genuine failure of every class and a few benign events of every kind.
    const result = await runSoak({
      failures: 11,
      benign: 8,
      hours: 2,
      timeScale: 240,
      raceShare: 0.5,
      drainSeconds: 300,
      progress: () => undefined,
    });

    // Assess: the mismatches say which failure or benign event went wrong, should one.
    expect({ ...result, mismatches: result.mismatches }).toMatchObject({
      failures: 11,
      harms: 0,
      stuck: 0,
      fiveXX: 0,
      benignTickets: 0,
      failuresWithoutTicket: 0,
      failuresWithSeveralTickets: 0,
      ticketsPerFailure: { max: 1, min: 1 },
      mismatches: [],
      ok: true,
    });
    expect(result.recovered + result.escalated + result.resolvedWithoutAction).toBe(result.tickets);
    // Databricks really throttled and failed the system (answers its client absorbed or retried).
    expect(result.faultsInjected.throttle).toBeGreaterThan(0);
    expect(result.faultsInjected.serverErrors).toBeGreaterThan(0);
  }, 600_000);

  it.each([
    [
      'a start after the owner stopped the cluster',
      [
        {
          type: 'TERMINATING',
          timestamp: 10,
          details: { reason: { code: 'USER_REQUEST', type: 'SUCCESS' } },
        },
        { type: 'STARTING', timestamp: 20 },
      ],
      'UI',
      ['start_after_user_termination'],
    ],
    [
      'a restart of a healthy cluster',
      [
        { type: 'RUNNING', timestamp: 10 },
        { type: 'RESTARTING', timestamp: 20 },
      ],
      'UI',
      ['restart_healthy_cluster'],
    ],
    [
      'a restart of a cluster whose driver is not responding',
      [
        { type: 'RUNNING', timestamp: 10 },
        { type: 'DRIVER_NOT_RESPONDING', timestamp: 15 },
        { type: 'RESTARTING', timestamp: 20 },
      ],
      'UI',
      [],
    ],
    [
      'a start after a failure',
      [
        {
          type: 'TERMINATING',
          timestamp: 10,
          details: { reason: { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' } },
        },
        { type: 'STARTING', timestamp: 20 },
      ],
      'UI',
      [],
    ],
    [
      'any start of a pipeline cluster',
      [{ type: 'STARTING', timestamp: 20 }],
      'PIPELINE',
      ['mutate_owned_cluster'],
    ],
    ['a start the user made', [{ type: 'STARTING', timestamp: 30 }], 'PIPELINE', []],
  ])('judges %s from the event log', (_name, events, source, rules) => {
    // Prepare
    const userActions = [{ clusterId: 'c', from: 29, to: 31 }];

    // Act
    const harms = judge(
      'c',
      source,
      events.map((event) => ({ cluster_id: 'c', ...event })),
      userActions,
    );

    // Assess
    expect(harms.map((harm) => harm.rule)).toEqual(rules);
  });
});
