import { describe, expect, it } from 'vitest';
import { ERROR_TYPES } from '../../functions/core/error-types.ts';
import { ConfigurationError } from '../../functions/core/errors.ts';
import {
  backoffSeconds,
  DEFAULT_PLAYBOOKS,
  launchThrottleSeconds,
  loadPlaybooks,
} from '../../functions/core/playbooks.ts';

describe('playbooks', () => {
  it('has a default playbook for every error type', () => {
    // Assess
    expect(Object.keys(DEFAULT_PLAYBOOKS).sort()).toEqual([...ERROR_TYPES].sort());
  });

  it('returns the defaults when nothing is overridden', () => {
    // Act
    const playbooks = loadPlaybooks({});

    // Assess
    expect(playbooks).toEqual(DEFAULT_PLAYBOOKS);
  });

  it("merges an override of the seed's knobs onto the defaults", () => {
    // Act
    const playbooks = loadPlaybooks({
      DatabricksClusterTerminated: {
        timeout_seconds: 900,
        health_check_timeout: 120,
        backoff: { initial_seconds: 30 },
      },
    });

    // Assess
    expect(playbooks.DatabricksClusterTerminated).toMatchObject({
      action: 'restart_cluster',
      timeout_seconds: 900,
      health_check_timeout: 120,
      backoff: { initial_seconds: 30, multiplier: 2, max_seconds: 600 },
    });
    expect(playbooks.DatabricksDriverNotResponding).toEqual(DEFAULT_PLAYBOOKS.DatabricksDriverNotResponding);
  });

  it.each([
    [{ DatabricksClusterTerminated: { timeout_seconds: -5 } }, 'DatabricksClusterTerminated.timeout_seconds'],
    [{ DatabricksClusterTerminated: { timeou_seconds: 5 } }, 'DatabricksClusterTerminated'],
    [
      { DatabricksClusterTerminatd: { timeout_seconds: 5 } },
      'DatabricksClusterTerminatd: unknown error type',
    ],
    [{ DatabricksClusterTerminated: { action: 'reboot' } }, 'DatabricksClusterTerminated.action'],
    [
      { DatabricksClusterTerminated: { backoff: { multiplier: 0 } } },
      'DatabricksClusterTerminated.backoff.multiplier',
    ],
    [{ DatabricksClusterTerminated: { enabled: 'yes' } }, 'DatabricksClusterTerminated.enabled'],
    [
      { DatabricksClusterTerminated: { timeout_seconds: 60, health_check_timeout: 120 } },
      'DatabricksClusterTerminated.health_check_timeout: must not exceed timeout_seconds',
    ],
    [{ DatabricksConfigurationError: { action: 'restart_cluster' } }, 'DatabricksConfigurationError.action'],
    [{ DatabricksInitScriptFailure: { action: 'retry_with_backoff' } }, 'a retry cannot fix'],
    [
      {
        DatabricksClusterTerminated: { launch_throttle_backoff: { initial_seconds: 1200, max_seconds: 600 } },
      },
      'DatabricksClusterTerminated.launch_throttle_backoff.initial_seconds: must not exceed',
    ],
    [
      { DatabricksClusterTerminated: { launch_throttle_backoff: { initial_seconds: 0 } } },
      'DatabricksClusterTerminated.launch_throttle_backoff.initial_seconds',
    ],
  ])('rejects %j naming %s', (overrides, expected) => {
    // Act / Assess
    expect(() => loadPlaybooks(overrides)).toThrow(ConfigurationError);
    expect(() => loadPlaybooks(overrides)).toThrow(expected);
  });

  it('rejects overrides that are not an object', () => {
    // Act / Assess
    expect(() => loadPlaybooks([1, 2])).toThrow(/object keyed by error type/);
  });

  it.each([
    [2, 60],
    [3, 120],
    [4, 240],
    [6, 600],
  ])('waits before attempt %i for %i seconds, capped', (attempt, seconds) => {
    // Act / Assess
    expect(backoffSeconds(DEFAULT_PLAYBOOKS.DatabricksClusterTerminated, attempt)).toBe(seconds);
  });

  it.each([
    [1, 180],
    [2, 360],
    [3, 720],
    [4, 900],
    [8, 900],
  ])(
    'waits %i REQUEST_LIMIT_EXCEEDED refusals of a launch out for %i seconds, minutes not seconds',
    (refusals, seconds) => {
      // Act
      const delays = Object.values(DEFAULT_PLAYBOOKS).map((playbook) =>
        launchThrottleSeconds(playbook, refusals),
      );

      // Assess
      expect(new Set(delays)).toEqual(new Set([seconds]));
    },
  );

  it('merges a launch_throttle_backoff override onto the default', () => {
    // Act
    const playbooks = loadPlaybooks({
      DatabricksClusterStartFailure: { launch_throttle_backoff: { initial_seconds: 300 } },
    });

    // Assess
    expect(playbooks.DatabricksClusterStartFailure.launch_throttle_backoff).toEqual({
      initial_seconds: 300,
      multiplier: 2,
      max_seconds: 900,
    });
    expect(launchThrottleSeconds(playbooks.DatabricksClusterStartFailure, 2)).toBe(600);
  });
});
