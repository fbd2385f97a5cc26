import { describe, expect, it } from 'vitest';
import type { ClusterDetails } from '../../functions/core/schemas/databricks.ts';
import {
  driverEventsOf,
  type GuardInput,
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
