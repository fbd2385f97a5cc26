import { describe, expect, it } from 'vitest';
import type { ClusterDetails } from '../../functions/core/schemas/databricks.ts';
import {
  driverEventsOf,
  driverEventsSince,
  type GuardInput,
  type GuardVerdict,
  guard,
  idleBeyondAutotermination,
  needsDriverEvents,
} from '../../functions/workflow/guard.ts';

const T = Date.UTC(2026, 10, 30, 6, 0, 0);
const MIN = 60_000;

const terminated = (over: Partial<ClusterDetails> = {}): ClusterDetails => ({
  cluster_id: '0201-000000-guard001',
  state: 'TERMINATED',
  cluster_source: 'UI',
  terminated_time: T,
  termination_reason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' },
  ...over,
});

const running = (over: Partial<ClusterDetails> = {}): ClusterDetails => ({
  cluster_id: '0201-000000-guard001',
  state: 'RUNNING',
  cluster_source: 'UI',
  last_restarted_time: T - 60 * MIN,
  last_state_loss_time: T,
  ...over,
});

const termination: GuardInput['signal'] = {
  kind: 'termination',
  terminatedTime: T,
  terminationReason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' },
  observedAt: T,
};
const driverLoss: GuardInput['signal'] = { kind: 'driver_loss', lastStateLossTime: T, observedAt: T };

function input(over: Partial<GuardInput>): GuardInput {
  return {
    signal: termination,
    errorType: 'DatabricksClusterTerminated',
    cluster: terminated(),
    acted: false,
    now: T + 5 * MIN,
    recentMs: 45 * MIN,
    ...over,
  };
}

describe('guard: is the failure still there, and is the cluster ours to touch?', () => {
  it.each([
    ['the same termination still there', 'act', input({})],
    [
      'a PIPELINE cluster (source read afresh)',
      'escalate',
      input({ cluster: terminated({ cluster_source: 'PIPELINE' }) }),
    ],
    ['a SQL warehouse cluster', 'escalate', input({ cluster: terminated({ cluster_source: 'SQL' }) })],
    ['a MODELS cluster', 'escalate', input({ cluster: terminated({ cluster_source: 'MODELS' }) })],
    [
      'a PIPELINE_MAINTENANCE cluster',
      'escalate',
      input({ cluster: terminated({ cluster_source: 'PIPELINE_MAINTENANCE' }) }),
    ],
    [
      'a job cluster (repaired through its run)',
      'act',
      input({ cluster: terminated({ cluster_source: 'JOB' }) }),
    ],
    [
      'stopped by its owner since',
      'resolved:stopped_by_owner',
      input({
        cluster: terminated({
          terminated_time: T + MIN,
          termination_reason: { code: 'USER_REQUEST', type: 'SUCCESS', parameters: { username: 'a@b.c' } },
        }),
      }),
    ],
    [
      'auto-terminated since',
      'resolved:stopped_by_owner',
      input({ cluster: terminated({ termination_reason: { code: 'INACTIVITY', type: 'SUCCESS' } }) }),
    ],
    [
      'being stopped by a user after this recovery started it',
      'resolved:stopped_by_owner',
      input({
        acted: true,
        cluster: terminated({
          state: 'TERMINATING',
          termination_reason: { code: 'USER_REQUEST', type: 'SUCCESS' },
        }),
      }),
    ],
    [
      'a later termination of the same class',
      'act',
      input({
        cluster: terminated({
          terminated_time: T + 10 * MIN,
          termination_reason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' },
        }),
      }),
    ],
    [
      'a later termination of another class',
      'escalate',
      input({
        cluster: terminated({
          terminated_time: T + 10 * MIN,
          termination_reason: { code: 'INIT_SCRIPT_FAILURE', type: 'CLIENT_ERROR' },
        }),
      }),
    ],
    [
      'a later termination after this recovery acted (its attempt failed)',
      'act',
      input({
        acted: true,
        cluster: terminated({
          terminated_time: T + 10 * MIN,
          termination_reason: { code: 'INIT_SCRIPT_FAILURE', type: 'CLIENT_ERROR' },
        }),
      }),
    ],
    [
      'idle past its autotermination window when it failed',
      'resolved:idle',
      input({ cluster: terminated({ autotermination_minutes: 30, last_activity_time: T - 31 * MIN }) }),
    ],
    [
      'active within its autotermination window when it failed',
      'act',
      input({ cluster: terminated({ autotermination_minutes: 30, last_activity_time: T - 29 * MIN }) }),
    ],
    [
      'RUNNING with a responsive driver before anything was done',
      'resolved:already_running',
      input({ cluster: running(), driver: {} }),
    ],
    [
      'RUNNING with a driver not responding',
      'act',
      input({ cluster: running(), driver: { lastNotResponding: T + MIN } }),
    ],
    [
      'RUNNING after this recovery acted (verified, not closed here)',
      'act',
      input({ cluster: running(), acted: true }),
    ],
    ['PENDING: someone else is starting it', 'act', input({ cluster: terminated({ state: 'PENDING' }) })],
    [
      'a driver loss still unanswered',
      'act',
      input({ signal: driverLoss, cluster: running(), driver: { lastNotResponding: T } }),
    ],
    [
      'a driver loss followed by DRIVER_HEALTHY',
      'resolved:healed_by_databricks',
      input({
        signal: driverLoss,
        cluster: running(),
        driver: { lastNotResponding: T, lastHealthy: T + 20_000 },
      }),
    ],
    [
      'a driver that stopped responding again after healing',
      'act',
      input({
        signal: driverLoss,
        cluster: running(),
        driver: { lastNotResponding: T + 2 * MIN, lastHealthy: T + MIN },
      }),
    ],
    [
      'a driver loss older than the recovery budget',
      'resolved:healed_by_databricks',
      input({ signal: driverLoss, cluster: running(), driver: {}, now: T + 46 * MIN }),
    ],
    [
      'a driver loss followed by someone restarting the cluster',
      'resolved:already_running',
      input({ signal: driverLoss, cluster: running({ last_restarted_time: T + MIN }) }),
    ],
    [
      'a driver loss superseded by a termination',
      'resolved:superseded',
      input({ signal: driverLoss, cluster: terminated({ terminated_time: T + MIN }) }),
    ],
    [
      'a DRIVER_ERROR job run on a healed all-purpose cluster',
      'resolved:healed_by_databricks',
      input({
        signal: { kind: 'job_failure', observedAt: T },
        errorType: 'DatabricksDriverNotResponding',
        cluster: running(),
        driver: { lastNotResponding: T, lastHealthy: T + 10_000 },
      }),
    ],
  ])('%s → %s', (_name, expected, given) => {
    // Act
    const verdict = guard(given);

    // Assess
    expect(verdict.kind === 'resolved' ? `resolved:${verdict.resolution}` : verdict.kind).toBe(expected);
  });

  it.each([
    ['a RUNNING cluster after a driver loss', input({ signal: driverLoss, cluster: running() }), true],
    [
      'a RUNNING cluster restarted since the loss',
      input({ signal: driverLoss, cluster: running({ last_restarted_time: T + MIN }) }),
      false,
    ],
    ['a RUNNING cluster of a termination nothing was done for', input({ cluster: running() }), true],
    ['a RUNNING cluster after this recovery acted', input({ cluster: running(), acted: true }), false],
    ['a TERMINATED cluster', input({}), false],
    ['a RUNNING pipeline cluster', input({ cluster: running({ cluster_source: 'PIPELINE' }) }), false],
  ])('reads the driver events only when they decide: %s → %s', (_name, given, expected) => {
    // Act
    const needed = needsDriverEvents(given);

    // Assess
    expect(needed).toBe(expected);
  });

  it.each([
    ['no autotermination', terminated({ last_activity_time: T - 600 * MIN }), false],
    ['no last_activity_time', terminated({ autotermination_minutes: 10 }), false],
    [
      'a job cluster',
      terminated({ cluster_source: 'JOB', autotermination_minutes: 10, last_activity_time: T - 60 * MIN }),
      false,
    ],
    [
      'idle longer than the window',
      terminated({ autotermination_minutes: 10, last_activity_time: T - 11 * MIN }),
      true,
    ],
    [
      'idle exactly the window',
      terminated({ autotermination_minutes: 10, last_activity_time: T - 10 * MIN }),
      false,
    ],
  ])('tells an idle cluster by its autotermination window: %s → %s', (_name, cluster, idle) => {
    // Act
    const reason = idleBeyondAutotermination(cluster);

    // Assess
    expect(reason !== undefined).toBe(idle);
  });

  it('keeps the latest DRIVER_NOT_RESPONDING and DRIVER_HEALTHY at or after a time', () => {
    // Prepare
    const id = '0201-000000-guard001';
    const events = [
      { cluster_id: id, type: 'DRIVER_HEALTHY', timestamp: T - MIN },
      { cluster_id: id, type: 'DRIVER_NOT_RESPONDING', timestamp: T },
      { cluster_id: id, type: 'DRIVER_HEALTHY', timestamp: T + 2 * MIN },
      { cluster_id: id, type: 'DRIVER_NOT_RESPONDING', timestamp: T + MIN },
      { cluster_id: id, type: 'RUNNING', timestamp: T + 3 * MIN },
    ];

    // Act
    const driver = driverEventsOf(events, T);

    // Assess
    expect(driver).toEqual({ lastNotResponding: T + MIN, lastHealthy: T + 2 * MIN });
  });
});

const iso = (time: number): string => new Date(time).toISOString();
const LEFT_STOPPED = 'the failure is no longer its condition, so it is left stopped';

describe('guard: the verdict and its evidence at the edge of each rule', () => {
  it.each<[string, GuardInput, GuardVerdict]>([
    [
      'a pipeline cluster, named with its source',
      input({ cluster: terminated({ cluster_source: 'PIPELINE' }) }),
      {
        kind: 'escalate',
        reason:
          'cluster 0201-000000-guard001 belongs to PIPELINE (cluster_source read just now): the service that owns it recovers it; nothing was changed',
      },
    ],
    [
      'a cluster its owner stopped, named with the user',
      input({
        cluster: terminated({
          termination_reason: { code: 'USER_REQUEST', type: 'SUCCESS', parameters: { username: 'a@b.c' } },
        }),
      }),
      {
        kind: 'resolved',
        resolution: 'stopped_by_owner',
        reason: `the cluster is TERMINATED because its owner stopped it (a@b.c); ${LEFT_STOPPED}`,
      },
    ],
    [
      'a cluster that ended with another SUCCESS code',
      input({ cluster: terminated({ termination_reason: { code: 'SOMETHING_FINE', type: 'SUCCESS' } }) }),
      {
        kind: 'resolved',
        resolution: 'stopped_by_owner',
        reason: `the cluster is TERMINATED because it ended normally (SOMETHING_FINE); ${LEFT_STOPPED}`,
      },
    ],
    [
      'a cluster that ended with a SUCCESS type and no code',
      input({ cluster: terminated({ termination_reason: { type: 'SUCCESS' } }) }),
      {
        kind: 'resolved',
        resolution: 'stopped_by_owner',
        reason: `the cluster is TERMINATED because it ended normally (SUCCESS); ${LEFT_STOPPED}`,
      },
    ],
    [
      'a RUNNING cluster that still shows an old SUCCESS termination',
      input({
        cluster: running({ termination_reason: { code: 'USER_REQUEST', type: 'SUCCESS' } }),
        driver: {},
      }),
      {
        kind: 'resolved',
        resolution: 'already_running',
        reason:
          'the cluster is RUNNING with a responsive driver again; someone else brought it back, so nothing was changed',
      },
    ],
    [
      'a TERMINATED cluster without a termination reason',
      input({ cluster: terminated({ termination_reason: undefined }) }),
      { kind: 'act' },
    ],
    [
      'a driver loss superseded by a termination, named with its code',
      input({ signal: driverLoss, cluster: terminated({ terminated_time: T + MIN }) }),
      {
        kind: 'resolved',
        resolution: 'superseded',
        reason:
          'the driver loss was followed by a termination (CLOUD_PROVIDER_SHUTDOWN); that termination is an incident of its own, so this one changes nothing',
      },
    ],
    [
      'a driver loss superseded by a termination without a reason',
      input({
        signal: driverLoss,
        cluster: terminated({ terminated_time: T + MIN, termination_reason: undefined }),
      }),
      {
        kind: 'resolved',
        resolution: 'superseded',
        reason:
          'the driver loss was followed by a termination (UNKNOWN); that termination is an incident of its own, so this one changes nothing',
      },
    ],
    [
      'a termination of another class one millisecond later',
      input({
        cluster: terminated({
          terminated_time: T + 1,
          termination_reason: { code: 'INIT_SCRIPT_FAILURE', type: 'CLIENT_ERROR' },
        }),
      }),
      {
        kind: 'escalate',
        reason: `the cluster terminated again at ${iso(T + 1)} for another reason (INIT_SCRIPT_FAILURE) than the incident's; that is not the failure this recovery was started for`,
      },
    ],
    [
      'a termination of another class at the incident time',
      input({
        cluster: terminated({ termination_reason: { code: 'INIT_SCRIPT_FAILURE', type: 'CLIENT_ERROR' } }),
      }),
      { kind: 'act' },
    ],
    [
      'a termination of another class when the incident has no terminated_time',
      input({
        signal: { ...termination, terminatedTime: undefined },
        cluster: terminated({
          terminated_time: T + MIN,
          termination_reason: { code: 'INIT_SCRIPT_FAILURE', type: 'CLIENT_ERROR' },
        }),
      }),
      { kind: 'act' },
    ],
    [
      'a termination of another class when the cluster has no terminated_time',
      input({
        cluster: terminated({
          terminated_time: undefined,
          termination_reason: { code: 'INIT_SCRIPT_FAILURE', type: 'CLIENT_ERROR' },
        }),
      }),
      { kind: 'act' },
    ],
    [
      "a later termination of the class of the incident's reason, whatever its error type says",
      input({
        errorType: 'DatabricksConfigurationError',
        cluster: terminated({
          terminated_time: T + MIN,
          termination_reason: { code: 'CLOUD_PROVIDER_SHUTDOWN', type: 'CLOUD_FAILURE' },
        }),
      }),
      { kind: 'act' },
    ],
    [
      'a later termination of the class of the error type when the incident reason is no failure',
      input({
        signal: { ...termination, terminationReason: { code: 'USER_REQUEST', type: 'SUCCESS' } },
        cluster: terminated({ terminated_time: T + MIN }),
      }),
      { kind: 'act' },
    ],
    [
      'a later termination of the class of the error type when the incident has no reason',
      input({
        signal: { ...termination, terminationReason: undefined },
        cluster: terminated({ terminated_time: T + MIN }),
      }),
      { kind: 'act' },
    ],
    [
      'a later termination when the error type is unknown',
      input({
        signal: { ...termination, terminationReason: undefined },
        errorType: 'NotAnErrorType',
        cluster: terminated({ terminated_time: T + MIN }),
      }),
      {
        kind: 'escalate',
        reason: `the cluster terminated again at ${iso(T + MIN)} for another reason (CLOUD_PROVIDER_SHUTDOWN) than the incident's; that is not the failure this recovery was started for`,
      },
    ],
    [
      'a later termination whose state message tells the same class as the incident',
      input({
        signal: { ...termination, terminationReason: { code: 'INIT_SCRIPT_FAILURE', type: 'CLIENT_ERROR' } },
        errorType: 'DatabricksInitScriptFailure',
        cluster: terminated({
          terminated_time: T + MIN,
          termination_reason: { code: 'UNKNOWN' },
          state_message: 'Init script failure: /x.sh exited with code 1',
        }),
      }),
      { kind: 'act' },
    ],
    [
      'a later termination that is no failure by its code',
      input({
        cluster: terminated({
          terminated_time: T + MIN,
          termination_reason: { code: 'INACTIVITY', type: 'CLIENT_ERROR' },
        }),
      }),
      {
        kind: 'escalate',
        reason: `the cluster terminated again at ${iso(T + MIN)} for another reason (INACTIVITY) than the incident's; that is not the failure this recovery was started for`,
      },
    ],
    [
      'an idle cluster this recovery already acted on',
      input({
        acted: true,
        cluster: terminated({ autotermination_minutes: 30, last_activity_time: T - 31 * MIN }),
      }),
      { kind: 'act' },
    ],
    [
      'an idle cluster, named with its idle time and window',
      input({ cluster: terminated({ autotermination_minutes: 30, last_activity_time: T - 31 * MIN }) }),
      {
        kind: 'resolved',
        resolution: 'idle',
        reason:
          'the cluster had been idle for 31 minutes when it failed, longer than its autotermination window (30 minutes): it would have stopped anyway, so it is not started',
      },
    ],
    [
      'a driver loss someone restarted the cluster after, named with both times',
      input({ signal: driverLoss, cluster: running({ last_restarted_time: T + MIN }) }),
      {
        kind: 'resolved',
        resolution: 'already_running',
        reason: `the cluster was restarted at ${iso(T + MIN)}, after the driver loss at ${iso(T)}; it is RUNNING`,
      },
    ],
    [
      'a driver loss restarted at the very time of the loss',
      input({
        signal: driverLoss,
        cluster: running({ last_restarted_time: T }),
        driver: { lastNotResponding: T },
      }),
      { kind: 'act' },
    ],
    [
      'a driver loss on a cluster with no restart time',
      input({
        signal: driverLoss,
        cluster: running({ last_restarted_time: undefined }),
        driver: { lastNotResponding: T },
      }),
      { kind: 'act' },
    ],
    [
      'a recent driver loss without driver events',
      input({ signal: driverLoss, cluster: running() }),
      { kind: 'act' },
    ],
    [
      'a driver healthy at the very time of the loss',
      input({ signal: driverLoss, cluster: running(), driver: { lastHealthy: T } }),
      {
        kind: 'resolved',
        resolution: 'healed_by_databricks',
        reason: `Databricks recovered the driver itself (DRIVER_HEALTHY at ${iso(T)} after the loss at ${iso(T)}); a restart would cut off everything attached to the cluster`,
      },
    ],
    [
      'a driver healthy only before the loss',
      input({ signal: driverLoss, cluster: running(), driver: { lastHealthy: T - 1 } }),
      { kind: 'act' },
    ],
    [
      'a driver healthy when the loss time is unknown',
      input({
        signal: { kind: 'driver_loss', observedAt: T },
        cluster: running({ last_state_loss_time: undefined }),
        driver: { lastHealthy: T + MIN },
      }),
      {
        kind: 'resolved',
        resolution: 'healed_by_databricks',
        reason: `Databricks recovered the driver itself (DRIVER_HEALTHY at ${iso(T + MIN)} after the loss at an unknown time); a restart would cut off everything attached to the cluster`,
      },
    ],
    [
      'a driver healthy at the same time it stopped responding',
      input({
        signal: driverLoss,
        cluster: running(),
        driver: { lastNotResponding: T + MIN, lastHealthy: T + MIN },
      }),
      {
        kind: 'resolved',
        resolution: 'healed_by_databricks',
        reason: `Databricks recovered the driver itself (DRIVER_HEALTHY at ${iso(T + MIN)} after the loss at ${iso(T)}); a restart would cut off everything attached to the cluster`,
      },
    ],
    [
      'a driver loss exactly as old as the recovery budget',
      input({ signal: driverLoss, cluster: running(), driver: {}, now: T + 45 * MIN }),
      { kind: 'act' },
    ],
    [
      'a driver loss older than the recovery budget, named with the budget',
      input({ signal: driverLoss, cluster: running(), driver: {}, now: T + 45 * MIN + 1 }),
      {
        kind: 'resolved',
        resolution: 'healed_by_databricks',
        reason: `the driver loss at ${iso(T)} is older than 45 minutes and the cluster is RUNNING; it is not restarted on old news`,
      },
    ],
    [
      "a driver loss dated by the signal rather than the cluster's later loss time",
      input({
        signal: driverLoss,
        cluster: running({ last_state_loss_time: T - 50 * MIN, last_restarted_time: T - 55 * MIN }),
        driver: {},
      }),
      { kind: 'act' },
    ],
    [
      'a termination signal whose error type is a driver loss, on a RUNNING cluster',
      input({ errorType: 'DatabricksDriverNotResponding', cluster: running(), driver: {} }),
      {
        kind: 'resolved',
        resolution: 'already_running',
        reason:
          'the cluster is RUNNING with a responsive driver again; someone else brought it back, so nothing was changed',
      },
    ],
    [
      'a job failure of another error type on a RUNNING cluster',
      input({
        signal: { kind: 'job_failure', observedAt: T },
        errorType: 'DatabricksJobFailure',
        cluster: running(),
        driver: {},
      }),
      {
        kind: 'resolved',
        resolution: 'already_running',
        reason:
          'the cluster is RUNNING with a responsive driver again; someone else brought it back, so nothing was changed',
      },
    ],
    [
      'a RUNNING cluster whose driver stopped responding without ever being healthy',
      input({ cluster: running(), driver: { lastNotResponding: T } }),
      { kind: 'act' },
    ],
    [
      'a RUNNING cluster whose driver was healthy when it stopped responding',
      input({ cluster: running(), driver: { lastNotResponding: T, lastHealthy: T } }),
      {
        kind: 'resolved',
        resolution: 'already_running',
        reason:
          'the cluster is RUNNING with a responsive driver again; someone else brought it back, so nothing was changed',
      },
    ],
    [
      'a RUNNING cluster whose driver is healthy after it stopped responding',
      input({ cluster: running(), driver: { lastNotResponding: T, lastHealthy: T + 1 } }),
      {
        kind: 'resolved',
        resolution: 'already_running',
        reason:
          'the cluster is RUNNING with a responsive driver again; someone else brought it back, so nothing was changed',
      },
    ],
    [
      'a RUNNING cluster without driver events',
      input({ cluster: running() }),
      {
        kind: 'resolved',
        resolution: 'already_running',
        reason:
          'the cluster is RUNNING with a responsive driver again; someone else brought it back, so nothing was changed',
      },
    ],
  ])('decides %s', (_name, given, expected) => {
    // Act
    const verdict = guard(given);

    // Assess
    expect(verdict).toEqual(expected);
  });

  it.each<[string, GuardInput, number | undefined]>([
    ['a driver loss from the loss', input({ signal: driverLoss, cluster: running() }), T],
    ['a termination from the last restart', input({ cluster: running() }), T - 60 * MIN],
    [
      'a termination of a cluster never restarted from its start',
      input({ cluster: running({ last_restarted_time: undefined, start_time: T - 90 * MIN }) }),
      T - 90 * MIN,
    ],
  ])('judges the driver of %s', (_name, given, expected) => {
    // Act
    const since = driverEventsSince(given);

    // Assess
    expect(since).toBe(expected);
  });

  it.each([
    [
      'a zero autotermination window as none',
      terminated({ autotermination_minutes: 0, last_activity_time: T - 60 * MIN }),
      false,
    ],
    [
      'an unknown termination time as unknown',
      terminated({
        terminated_time: undefined,
        autotermination_minutes: 10,
        last_activity_time: T - 60 * MIN,
      }),
      false,
    ],
    [
      'a cluster without a source as all-purpose',
      terminated({
        cluster_source: undefined,
        autotermination_minutes: 10,
        last_activity_time: T - 60 * MIN,
      }),
      true,
    ],
  ])('takes %s when it tells an idle cluster', (_name, cluster, idle) => {
    // Act
    const reason = idleBeyondAutotermination(cluster);

    // Assess
    expect(reason !== undefined).toBe(idle);
  });

  it.each([
    ['an event before the time', [{ type: 'DRIVER_HEALTHY', timestamp: T - 1 }], T, {}],
    ['an event at the time', [{ type: 'DRIVER_HEALTHY', timestamp: T }], T, { lastHealthy: T }],
    ['an event without a time', [{ type: 'DRIVER_NOT_RESPONDING' }], T, {}],
    [
      'every event when no time is given',
      [{ type: 'DRIVER_NOT_RESPONDING', timestamp: 1 }],
      undefined,
      { lastNotResponding: 1 },
    ],
    [
      'the latest of several DRIVER_HEALTHY events',
      [
        { type: 'DRIVER_HEALTHY', timestamp: T + 2 },
        { type: 'DRIVER_HEALTHY', timestamp: T + 1 },
      ],
      T,
      { lastHealthy: T + 2 },
    ],
  ])('reads the driver events keeping %s', (_name, events, since, expected) => {
    // Prepare
    const withId = events.map((event) => ({ cluster_id: '0201-000000-guard001', ...event }));

    // Act
    const driver = driverEventsOf(withId, since);

    // Assess
    expect(driver).toStrictEqual(expected);
  });
});
