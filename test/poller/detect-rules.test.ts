import { describe, expect, it } from 'vitest';
import type { ClusterDetails, ClusterEvent } from '../../functions/core/schemas/databricks.ts';
import {
  assessCluster,
  DRIVER_HEAL_GRACE_MS,
  driverLossVerdict,
  enteredStateAt,
  explainStateLoss,
  isStart,
  START_TOLERANCE_MS,
} from '../../functions/poller/detect.ts';

// The edges of each detection rule, one row per boundary; the fixtures of detect.test.ts hold the
// real-shaped clusters and event logs.

const SINCE = Date.parse('2026-11-30T08:00:00.000Z');
const NOW = SINCE + 10 * 60_000;
const WINDOW = { since: SINCE, now: NOW, stuckAfterMs: 20 * 60_000 };
const HOUR = 3_600_000;
const FAILED = { code: 'DRIVER_UNREACHABLE', type: 'CLOUD_FAILURE' };

function clusterWith(fields: Partial<ClusterDetails>): ClusterDetails {
  return { cluster_id: '1130-080000-edge0001', ...fields };
}

function event(type: string, timestamp: number | undefined, details?: ClusterEvent['details']): ClusterEvent {
  return {
    cluster_id: '1130-080000-edge0001',
    type,
    ...(timestamp === undefined ? {} : { timestamp }),
    ...(details === undefined ? {} : { details }),
  };
}

describe('assessCluster at the edges of its rules', () => {
  it.each<[string, Partial<ClusterDetails>, string | undefined]>([
    [
      'a termination at the window start as old',
      { state: 'TERMINATED', terminated_time: SINCE, termination_reason: FAILED },
      undefined,
    ],
    [
      'a termination just after the window start as new',
      { state: 'TERMINATED', terminated_time: SINCE + 1, termination_reason: FAILED },
      'termination',
    ],
    [
      'a termination without terminated_time as nothing yet',
      { state: 'TERMINATED', termination_reason: FAILED },
      undefined,
    ],
    [
      'a termination without a reason as a failure',
      { state: 'TERMINATED', terminated_time: SINCE + 1 },
      'termination',
    ],
    [
      'a SUCCESS-type termination as nothing',
      {
        state: 'TERMINATED',
        terminated_time: SINCE + 1,
        termination_reason: { code: 'USER_REQUEST', type: 'SUCCESS' },
      },
      undefined,
    ],
    [
      'a driver loss at the window start as old',
      { state: 'RUNNING', start_time: SINCE - HOUR, last_state_loss_time: SINCE },
      undefined,
    ],
    [
      'a driver loss just after the window start as new',
      { state: 'RUNNING', start_time: SINCE - HOUR, last_state_loss_time: SINCE + 1 },
      'driver_loss',
    ],
    [
      'a RESIZING cluster that lost its driver as a driver loss',
      { state: 'RESIZING', start_time: SINCE - HOUR, last_state_loss_time: SINCE + 1 },
      'driver_loss',
    ],
    [
      'a PENDING cluster with a recent state loss as a start, never a driver loss',
      { state: 'PENDING', start_time: SINCE - HOUR, last_state_loss_time: SINCE + 1 },
      'stuck',
    ],
    [
      'a cluster starting for exactly the allowed time as stuck',
      { state: 'PENDING', start_time: NOW - 20 * 60_000 },
      'stuck',
    ],
    [
      'a cluster starting for just under the allowed time as fine',
      { state: 'PENDING', start_time: NOW - 20 * 60_000 + 1 },
      undefined,
    ],
    [
      'a RUNNING cluster without a state loss as healthy',
      { state: 'RUNNING', start_time: SINCE - HOUR },
      undefined,
    ],
  ])('takes %s', (_, fields, expected) => {
    // Prepare
    const cluster = clusterWith(fields);

    // Act
    const finding = assessCluster(cluster, WINDOW);

    // Assess
    expect(finding?.kind).toBe(expected);
  });
});

describe('isStart', () => {
  const RESTARTED = SINCE + HOUR;
  it.each<[string, Partial<ClusterDetails>, number, boolean]>([
    [
      'a loss at the tolerance after the last restart',
      { last_restarted_time: RESTARTED },
      RESTARTED + START_TOLERANCE_MS,
      true,
    ],
    [
      'a loss at the tolerance before the last restart',
      { last_restarted_time: RESTARTED },
      RESTARTED - START_TOLERANCE_MS,
      true,
    ],
    [
      'a loss just past the tolerance after the last restart',
      { last_restarted_time: RESTARTED },
      RESTARTED + START_TOLERANCE_MS + 1,
      false,
    ],
    [
      'a loss at the tolerance after the start',
      { start_time: RESTARTED },
      RESTARTED + START_TOLERANCE_MS,
      true,
    ],
    ['a loss before the start', { start_time: RESTARTED }, RESTARTED - HOUR, true],
    [
      'a loss just past the tolerance after the start',
      { start_time: RESTARTED },
      RESTARTED + START_TOLERANCE_MS + 1,
      false,
    ],
    ['a loss with neither time known', {}, RESTARTED, false],
  ])('takes %s for a start: %s', (_, fields, lossTime, expected) => {
    // Act
    const start = isStart(clusterWith(fields), lossTime);

    // Assess
    expect(start).toBe(expected);
  });
});

describe('enteredStateAt reads only start events with a time', () => {
  it('ignores later events of other types and events without a time', () => {
    // Prepare
    const events = [
      event('RUNNING', SINCE + 900),
      event('STARTING', undefined),
      event('RESTARTING', SINCE + 300),
    ];

    // Act
    const since = enteredStateAt(events, SINCE);

    // Assess
    expect(since).toBe(SINCE + 300);
  });
});

describe('explainStateLoss at the edges of its rules', () => {
  const LOSS = SINCE + HOUR;
  const SLACK = 60_000;
  it.each<[string, ClusterEvent[], boolean, string]>([
    [
      'reads the events in time order whatever order they come in (newest first by default)',
      [event('RESTARTING', LOSS - 100), event('STARTING', LOSS - 5000)],
      false,
      'the RESTARTING event names no user and no user request',
    ],
    [
      'counts a restart up to the slack after the loss',
      [event('STARTING', LOSS + SLACK)],
      true,
      'the cluster was started (STARTING)',
    ],
    [
      'ignores a restart past the slack after the loss',
      [event('STARTING', LOSS + SLACK + 1)],
      false,
      'no start or restart event precedes the state loss',
    ],
    [
      'explains a start without details',
      [event('CREATING', LOSS - 100)],
      true,
      'the cluster was started (CREATING)',
    ],
    [
      'does not explain a loss after the cluster was RUNNING again',
      [event('STARTING', LOSS - HOUR), event('RUNNING', LOSS - HOUR / 2)],
      false,
      'the cluster was RUNNING again after the STARTING event; the state loss came later',
    ],
    [
      'ignores a RUNNING at the restart itself',
      [event('STARTING', LOSS - HOUR), event('RUNNING', LOSS - HOUR)],
      true,
      'the cluster was started (STARTING)',
    ],
    [
      'ignores a RUNNING within the slack of the loss',
      [event('STARTING', LOSS - HOUR), event('RUNNING', LOSS - SLACK)],
      true,
      'the cluster was started (STARTING)',
    ],
    [
      'ignores a RUNNING before the restart',
      [event('RUNNING', LOSS - 2 * HOUR), event('STARTING', LOSS - HOUR)],
      true,
      'the cluster was started (STARTING)',
    ],
    [
      'ignores other events in between',
      [event('STARTING', LOSS - HOUR), event('RESIZING', LOSS - HOUR / 2)],
      true,
      'the cluster was started (STARTING)',
    ],
    [
      "does not explain Databricks' own restart, even one naming a user",
      [event('RESTARTING', LOSS - 100, { cause: 'AUTORECOVERY', user: 'alice@example.com' })],
      false,
      'Databricks restarted the cluster itself (RESTARTING, AUTORECOVERY)',
    ],
    [
      "does not explain Databricks' own start",
      [event('STARTING', LOSS - 100, { cause: 'AUTORECOVERY' })],
      false,
      'Databricks restarted the cluster itself (STARTING, AUTORECOVERY)',
    ],
    [
      'explains a planned automatic update',
      [event('AUTOMATIC_CLUSTER_UPDATE', LOSS - 100)],
      true,
      'a planned automatic cluster update restarted the cluster',
    ],
    [
      'explains a restart a user asked for',
      [event('RESTARTING', LOSS - 100, { user: 'alice@example.com' })],
      true,
      'restarted on request of alice@example.com',
    ],
    [
      'explains a restart on USER_REQUEST without a user',
      [event('RESTARTING', LOSS - 100, { cause: 'USER_REQUEST' })],
      true,
      'restarted on request',
    ],
    [
      'does not explain a restart naming an empty user',
      [event('RESTARTING', LOSS - 100, { user: '' })],
      false,
      'the RESTARTING event names no user and no user request',
    ],
  ])('%s', (_, events, explained, reason) => {
    // Act
    const verdict = explainStateLoss(events, LOSS, SLACK);

    // Assess
    expect(verdict).toEqual({ explained, reason });
  });
});

describe('driverLossVerdict', () => {
  const LOSS = SINCE;
  const LATE = LOSS + DRIVER_HEAL_GRACE_MS;
  const healed = (at: number) => ({
    kind: 'healed',
    reason: `Databricks recovered the driver itself (DRIVER_HEALTHY at ${new Date(at).toISOString()})`,
  });
  const pending = {
    kind: 'pending',
    reason: 'the driver may still recover by itself; looked at again next run',
  };
  const unhealthy = { kind: 'unhealthy', reason: 'no DRIVER_HEALTHY within 3 minutes of the loss' };
  it.each<[string, ClusterEvent[], number, object]>([
    [
      'healed by a DRIVER_HEALTHY after the loss',
      [event('DRIVER_HEALTHY', LOSS + 10)],
      LOSS + 20,
      healed(LOSS + 10),
    ],
    ['healed by a DRIVER_HEALTHY at the loss', [event('DRIVER_HEALTHY', LOSS)], LOSS + 20, healed(LOSS)],
    ['not healed by a DRIVER_HEALTHY before the loss', [event('DRIVER_HEALTHY', LOSS - 1)], LATE, unhealthy],
    ['not healed by a DRIVER_HEALTHY without a time', [event('DRIVER_HEALTHY', undefined)], LATE, unhealthy],
    [
      'not healed when the driver stopped responding after it was healthy',
      [event('DRIVER_HEALTHY', LOSS + 10), event('DRIVER_NOT_RESPONDING', LOSS + 20)],
      LATE,
      unhealthy,
    ],
    [
      'healed when healthy at the same time it stopped responding',
      [event('DRIVER_NOT_RESPONDING', LOSS + 10), event('DRIVER_HEALTHY', LOSS + 10)],
      LATE,
      healed(LOSS + 10),
    ],
    [
      'healed by its latest DRIVER_HEALTHY',
      [
        event('DRIVER_HEALTHY', LOSS + 10),
        event('DRIVER_NOT_RESPONDING', LOSS + 20),
        event('DRIVER_HEALTHY', LOSS + 30),
      ],
      LATE,
      healed(LOSS + 30),
    ],
    [
      'not healed while its latest DRIVER_NOT_RESPONDING is later',
      [
        event('DRIVER_NOT_RESPONDING', LOSS + 30),
        event('DRIVER_HEALTHY', LOSS + 20),
        event('DRIVER_NOT_RESPONDING', LOSS + 10),
      ],
      LATE,
      unhealthy,
    ],
    ['pending just inside the grace period', [], LATE - 1, pending],
    ['unhealthy at the end of the grace period', [], LATE, unhealthy],
    ['pending on other events only', [event('RUNNING', LOSS + 10)], LOSS + 20, pending],
    [
      'healed whatever other events follow',
      [event('DRIVER_HEALTHY', LOSS + 10), event('RUNNING', LOSS + 20)],
      LATE,
      healed(LOSS + 10),
    ],
  ])('is %s', (_, events, now, expected) => {
    // Act
    const verdict = driverLossVerdict(events, LOSS, now);

    // Assess
    expect(verdict).toEqual(expected);
  });
});
