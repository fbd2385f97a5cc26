import { describe, expect, it } from 'vitest';
import {
  acquire,
  type Breaker,
  type BreakerConfig,
  type BreakerOutcomeStore,
  breakerScopes,
  clusterScope,
  DEFAULT_BREAKER_CONFIG,
  errorTypeScope,
  forceClose,
  forceOpen,
  newBreaker,
  openedBy,
  recordBreakerOutcome,
  recordFailure,
  recordSuccess,
  release,
  resolveBreakerConfig,
} from '../../functions/core/breaker.ts';

const config: BreakerConfig = {
  failureThreshold: 3,
  windowSeconds: 3600,
  cooldownSeconds: 1800,
  probeTimeoutSeconds: 3600,
};
const T0 = Date.parse('2025-01-02T10:00:00.000Z');
const SECOND = 1000;
const SCOPE = 'cluster#ws1#0102-abc';

/** A breaker driven through the real transitions: `failures` tickets failed one minute apart from T0. */
function closedWith(failures: number): Breaker {
  let breaker = newBreaker(SCOPE, T0);
  for (let i = 0; i < failures; i++) {
    breaker = recordFailure(breaker, `RCA-F${i}`, T0 + i * 60 * SECOND, config).breaker;
  }
  return breaker;
}

/** Opened automatically at `openedAt` by the threshold-th failure. */
function opened(): { breaker: Breaker; openedAt: number } {
  const breaker = closedWith(config.failureThreshold);
  return { breaker, openedAt: breaker.openedAt ?? Number.NaN };
}

/** Half-open with `RCA-PROBE` holding the probe, claimed at the returned time. */
function halfOpen(): { breaker: Breaker; claimedAt: number } {
  const { breaker, openedAt } = opened();
  const claimedAt = openedAt + config.cooldownSeconds * SECOND;
  return { breaker: acquire(breaker, 'RCA-PROBE', claimedAt, config).breaker, claimedAt };
}

describe('closed breaker', () => {
  it('allows a recovery without changing anything', () => {
    // Prepare
    const breaker = closedWith(2);

    // Act
    const step = acquire(breaker, 'RCA-1', T0 + 10 * 60 * SECOND, config);

    // Assess
    expect(step).toMatchObject({ allowed: true, probe: false, changed: false });
    expect(step.breaker).toBe(breaker);
  });

  it.each([
    { failures: 1, state: 'closed', transition: undefined },
    { failures: 2, state: 'closed', transition: undefined },
    { failures: 3, state: 'open', transition: 'opened' },
  ])('is $state after $failures failed recoveries within the window', ({ failures, state, transition }) => {
    // Prepare
    const before = closedWith(failures - 1);
    const now = T0 + (failures - 1) * 60 * SECOND;

    // Act
    const step = recordFailure(before, `RCA-F${failures - 1}`, now, config);

    // Assess
    expect(step.breaker.state).toBe(state);
    expect(step.transition).toBe(transition);
    expect(step.breaker.recentFailures).toHaveLength(failures);
    expect(step.breaker.totalFailures).toBe(failures);
    expect(step.breaker.version).toBe(before.version + 1);
  });

  it('sets the cool-down when it opens', () => {
    // Prepare
    const before = closedWith(2);
    const now = T0 + 5 * 60 * SECOND;

    // Act
    const step = recordFailure(before, 'RCA-F2', now, config);

    // Assess
    expect(step.breaker).toMatchObject({ state: 'open', openedAt: now, openUntil: now + 1800 * SECOND });
    expect(step.reason).toContain('3 failed recoveries');
  });

  it('forgets failures that left the sliding window', () => {
    // Prepare
    const before = closedWith(2);
    const now = T0 + 60 * SECOND + config.windowSeconds * SECOND;

    // Act
    const step = recordFailure(before, 'RCA-LATE', now, config);

    // Assess
    expect(step.breaker.state).toBe('closed');
    expect(step.breaker.recentFailures.map((failure) => failure.ticketId)).toEqual(['RCA-LATE']);
    expect(step.breaker.totalFailures).toBe(3);
  });

  it('opens when the failures fit the window exactly', () => {
    // Prepare
    const before = closedWith(2);
    const now = T0 + config.windowSeconds * SECOND - 1;

    // Act
    const step = recordFailure(before, 'RCA-EDGE', now, config);

    // Assess
    expect(step.transition).toBe('opened');
  });

  it('counts a failure of the same ticket once', () => {
    // Prepare
    const before = closedWith(2);

    // Act
    const step = recordFailure(before, 'RCA-F1', T0 + 3 * 60 * SECOND, config);

    // Assess
    expect(step.changed).toBe(false);
    expect(step.breaker.state).toBe('closed');
    expect(step.breaker.totalFailures).toBe(2);
  });

  it('does not forgive failures on a success', () => {
    // Prepare
    const before = closedWith(2);

    // Act
    const step = recordSuccess(before, 'RCA-OK', T0 + 3 * 60 * SECOND);

    // Assess
    expect(step.changed).toBe(false);
    expect(step.breaker.recentFailures).toHaveLength(2);
  });

  it('honours a custom threshold', () => {
    // Prepare
    const custom = { ...config, failureThreshold: 1 };

    // Act
    const step = recordFailure(newBreaker(SCOPE, T0), 'RCA-1', T0, custom);

    // Assess
    expect(step.transition).toBe('opened');
  });
});

describe('automatically opened breaker', () => {
  it.each([
    { label: 'right after opening', after: 0 },
    { label: 'one millisecond before the cool-down ends', after: config.cooldownSeconds * SECOND - 1 },
  ])('blocks a recovery $label', ({ after }) => {
    // Prepare
    const { breaker, openedAt } = opened();

    // Act
    const step = acquire(breaker, 'RCA-NEXT', openedAt + after, config);

    // Assess
    expect(step).toMatchObject({ allowed: false, probe: false, changed: false });
    expect(step.breaker.state).toBe('open');
    expect(step.reason).toContain('open until');
  });

  it.each([
    { label: 'when the cool-down ends', after: config.cooldownSeconds * SECOND },
    { label: 'long after the cool-down', after: 10 * config.cooldownSeconds * SECOND },
  ])('half-opens and makes the caller the probe $label', ({ after }) => {
    // Prepare
    const { breaker, openedAt } = opened();
    const now = openedAt + after;

    // Act
    const step = acquire(breaker, 'RCA-PROBE', now, config);

    // Assess
    expect(step).toMatchObject({ allowed: true, probe: true, changed: true, transition: 'half_opened' });
    expect(step.breaker).toMatchObject({ state: 'half_open', probe: { ticketId: 'RCA-PROBE', at: now } });
  });

  it('counts a late failure without changing state', () => {
    // Prepare
    const { breaker, openedAt } = opened();

    // Act
    const step = recordFailure(breaker, 'RCA-LATE', openedAt + SECOND, config);

    // Assess
    expect(step.changed).toBe(true);
    expect(step.transition).toBeUndefined();
    expect(step.breaker).toMatchObject({ state: 'open', totalFailures: 4, openUntil: breaker.openUntil });
  });

  it('ignores a late success', () => {
    // Prepare
    const { breaker, openedAt } = opened();

    // Act
    const step = recordSuccess(breaker, 'RCA-F0', openedAt + SECOND);

    // Assess
    expect(step.changed).toBe(false);
    expect(step.breaker.state).toBe('open');
  });
});

describe('half-open breaker', () => {
  it('lets the probe holder through again without a change', () => {
    // Prepare
    const { breaker, claimedAt } = halfOpen();

    // Act
    const step = acquire(breaker, 'RCA-PROBE', claimedAt + SECOND, config);

    // Assess
    expect(step).toMatchObject({ allowed: true, probe: true, changed: false });
  });

  it('blocks every other recovery while the probe runs', () => {
    // Prepare
    const { breaker, claimedAt } = halfOpen();

    // Act
    const step = acquire(breaker, 'RCA-OTHER', claimedAt + SECOND, config);

    // Assess
    expect(step).toMatchObject({ allowed: false, probe: false, changed: false });
    expect(step.reason).toContain('RCA-PROBE');
  });

  it('hands the probe to the next caller when the probe timed out', () => {
    // Prepare
    const { breaker, claimedAt } = halfOpen();
    const now = claimedAt + config.probeTimeoutSeconds * SECOND;

    // Act
    const step = acquire(breaker, 'RCA-OTHER', now, config);

    // Assess
    expect(step).toMatchObject({ allowed: true, probe: true, changed: true });
    expect(step.breaker.probe).toEqual({ ticketId: 'RCA-OTHER', at: now });
    expect(step.reason).toContain('timed out');
  });

  it('closes and forgets its failures when the probe succeeds', () => {
    // Prepare
    const { breaker, claimedAt } = halfOpen();

    // Act
    const step = recordSuccess(breaker, 'RCA-PROBE', claimedAt + 60 * SECOND);

    // Assess
    expect(step.transition).toBe('closed');
    expect(step.breaker.state).toBe('closed');
    expect(step.breaker.recentFailures).toEqual([]);
    expect(step.breaker).not.toHaveProperty('probe');
    expect(step.breaker).not.toHaveProperty('openUntil');
  });

  it('opens again with a fresh cool-down when the probe fails', () => {
    // Prepare
    const { breaker, claimedAt } = halfOpen();
    const now = claimedAt + 60 * SECOND;

    // Act
    const step = recordFailure(breaker, 'RCA-PROBE', now, config);

    // Assess
    expect(step.transition).toBe('opened');
    expect(step.breaker).toMatchObject({ state: 'open', openedAt: now, openUntil: now + 1800 * SECOND });
    expect(step.breaker).not.toHaveProperty('probe');
  });

  it.each([
    { outcome: 'success', apply: (b: Breaker, now: number) => recordSuccess(b, 'RCA-OTHER', now) },
    { outcome: 'failure', apply: (b: Breaker, now: number) => recordFailure(b, 'RCA-OTHER', now, config) },
  ])("stays half-open on another ticket's $outcome", ({ apply }) => {
    // Prepare
    const { breaker, claimedAt } = halfOpen();

    // Act
    const step = apply(breaker, claimedAt + SECOND);

    // Assess
    expect(step.transition).toBeUndefined();
    expect(step.breaker.state).toBe('half_open');
    expect(step.breaker.probe?.ticketId).toBe('RCA-PROBE');
  });

  it('releases the probe for the next caller', () => {
    // Prepare
    const { breaker, claimedAt } = halfOpen();

    // Act
    const released = release(breaker, 'RCA-PROBE', claimedAt + SECOND);
    const next = acquire(released.breaker, 'RCA-NEXT', claimedAt + 2 * SECOND, config);

    // Assess
    expect(released.transition).toBe('probe_released');
    expect(released.breaker.state).toBe('half_open');
    expect(released.breaker).not.toHaveProperty('probe');
    expect(next).toMatchObject({ allowed: true, probe: true });
    expect(next.breaker.probe?.ticketId).toBe('RCA-NEXT');
  });

  it('ignores a release by a ticket that holds no probe', () => {
    // Prepare
    const { breaker, claimedAt } = halfOpen();

    // Act
    const step = release(breaker, 'RCA-OTHER', claimedAt + SECOND);

    // Assess
    expect(step.changed).toBe(false);
    expect(step.breaker.probe?.ticketId).toBe('RCA-PROBE');
  });
});

describe('manual control', () => {
  it.each([
    { from: 'closed', make: () => closedWith(1), transition: 'opened' },
    { from: 'open', make: () => opened().breaker, transition: undefined },
    { from: 'half_open', make: () => halfOpen().breaker, transition: 'opened' },
  ])('opens a $from breaker by hand', ({ make, transition }) => {
    // Prepare
    const before = make();
    const now = T0 + 2 * 3600 * SECOND;

    // Act
    const step = forceOpen(before, 'maintenance window', now);

    // Assess
    expect(step.transition).toBe(transition);
    expect(step.breaker).toMatchObject({ state: 'open', manual: { reason: 'maintenance window', at: now } });
    expect(step.breaker).not.toHaveProperty('probe');
    expect(step.breaker).not.toHaveProperty('openUntil');
  });

  it('keeps a breaker opened by hand without an until-time open indefinitely', () => {
    // Prepare
    const before = forceOpen(newBreaker(SCOPE, T0), 'upgrade', T0).breaker;

    // Act
    const step = acquire(before, 'RCA-1', T0 + 365 * 24 * 3600 * SECOND, config);

    // Assess
    expect(step.allowed).toBe(false);
    expect(step.reason).toContain('opened by hand (upgrade) until closed by hand');
  });

  it.each([
    { label: 'blocks before', after: -1, allowed: false, state: 'open' },
    { label: 'half-opens at', after: 0, allowed: true, state: 'half_open' },
  ])('$label the until-time of a breaker opened by hand', ({ after, allowed, state }) => {
    // Prepare
    const until = T0 + 3600 * SECOND;
    const before = forceOpen(newBreaker(SCOPE, T0), 'upgrade', T0, until).breaker;

    // Act
    const step = acquire(before, 'RCA-1', until + after, config);

    // Assess
    expect(step.allowed).toBe(allowed);
    expect(step.breaker.state).toBe(state);
  });

  it('does not half-open a breaker opened by hand after the automatic cool-down', () => {
    // Prepare
    const until = T0 + 10 * config.cooldownSeconds * SECOND;
    const before = forceOpen(newBreaker(SCOPE, T0), 'upgrade', T0, until).breaker;

    // Act
    const step = acquire(before, 'RCA-1', T0 + config.cooldownSeconds * SECOND, config);

    // Assess
    expect(step.allowed).toBe(false);
  });

  it.each([
    { from: 'closed', make: () => closedWith(2), transition: undefined },
    { from: 'open', make: () => opened().breaker, transition: 'closed' },
    { from: 'half_open', make: () => halfOpen().breaker, transition: 'closed' },
    {
      from: 'open by hand',
      make: () => forceOpen(newBreaker(SCOPE, T0), 'upgrade', T0).breaker,
      transition: 'closed',
    },
  ])('closes a $from breaker by hand and forgets its failures', ({ make, transition }) => {
    // Prepare
    const before = make();

    // Act
    const step = forceClose(before, 'fixed the subnet', T0 + 7200 * SECOND);

    // Assess
    expect(step.transition).toBe(transition);
    expect(step.breaker).toMatchObject({
      state: 'closed',
      recentFailures: [],
      reason: 'closed by hand: fixed the subnet',
    });
    for (const field of ['manual', 'probe', 'openUntil', 'openedAt']) {
      expect(step.breaker).not.toHaveProperty(field);
    }
  });
});

describe('configuration and scopes', () => {
  it('uses the documented defaults', () => {
    // Act
    const resolved = resolveBreakerConfig();

    // Assess
    expect(resolved).toEqual(DEFAULT_BREAKER_CONFIG);
    expect(resolved).toMatchObject({ failureThreshold: 3, windowSeconds: 3600, cooldownSeconds: 1800 });
  });

  it.each([
    { config: { failureThreshold: 0 }, field: 'failureThreshold' },
    { config: { failureThreshold: 2.5 }, field: 'failureThreshold' },
    { config: { windowSeconds: -1 }, field: 'windowSeconds' },
    { config: { cooldownSeconds: Number.NaN }, field: 'cooldownSeconds' },
  ])('rejects $config', ({ config: partial, field }) => {
    // Act
    const act = () => resolveBreakerConfig(partial);

    // Assess
    expect(act).toThrow(field);
  });

  it('names the two scopes the intake checks', () => {
    // Act
    const scopes = [clusterScope('ws1', '0102-abc'), errorTypeScope('DatabricksDriverNotResponding')];

    // Assess
    expect(scopes).toEqual(['cluster#ws1#0102-abc', 'error_type#DatabricksDriverNotResponding']);
  });
});

describe('what each step reports', () => {
  it('starts a breaker closed, with no failures and a reason that says so', () => {
    // Act
    const breaker = newBreaker(SCOPE, T0);

    // Assess
    expect(breaker).toEqual({
      scope: SCOPE,
      state: 'closed',
      recentFailures: [],
      totalFailures: 0,
      reason: 'no failures recorded',
      updatedAt: T0,
      version: 0,
    });
  });

  it.each([
    {
      step: 'acquire on a closed breaker',
      run: () => acquire(closedWith(1), 'RCA-9', T0, config),
      changed: false,
      reason: 'breaker is closed',
    },
    {
      step: 'acquire after the cool-down',
      run: () => acquire(opened().breaker, 'RCA-9', T0 + 3 * 3600 * SECOND, config),
      changed: true,
      reason: 'cool-down elapsed; RCA-9 is the probe',
    },
    {
      step: 'acquire by the probe holder',
      run: () => acquire(halfOpen().breaker, 'RCA-PROBE', halfOpen().claimedAt + SECOND, config),
      changed: false,
      reason: 'RCA-PROBE holds the probe',
    },
    {
      step: 'acquire after a released probe',
      run: () => {
        const { breaker, claimedAt } = halfOpen();
        return acquire(release(breaker, 'RCA-PROBE', claimedAt).breaker, 'RCA-9', claimedAt, config);
      },
      changed: true,
      reason: 'half-open; RCA-9 is the probe',
    },
    {
      step: 'release by a ticket without the probe',
      run: () => release(halfOpen().breaker, 'RCA-9', T0),
      changed: false,
      reason: 'RCA-9 holds no probe',
    },
    {
      step: 'release by the probe holder',
      run: () => release(halfOpen().breaker, 'RCA-PROBE', T0),
      changed: true,
      reason: 'probe released by RCA-PROBE',
    },
    {
      step: "the probe's success",
      run: () => recordSuccess(halfOpen().breaker, 'RCA-PROBE', T0),
      changed: true,
      reason: 'probe RCA-PROBE succeeded',
    },
    {
      step: 'a success in a closed breaker',
      run: () => recordSuccess(closedWith(1), 'RCA-9', T0),
      changed: false,
      reason: 'success of RCA-9 changes nothing in state closed',
    },
    {
      step: "the probe's failure",
      run: () => recordFailure(halfOpen().breaker, 'RCA-PROBE', halfOpen().claimedAt, config),
      changed: true,
      reason: 'probe RCA-PROBE failed; open for 1800 s',
    },
    {
      step: 'a failure below the threshold',
      run: () => recordFailure(closedWith(1), 'RCA-9', T0 + 60 * SECOND, config),
      changed: true,
      reason: '2 of 3 failures within the window',
    },
    {
      step: 'a failure already counted',
      run: () => recordFailure(closedWith(1), 'RCA-F0', T0 + 60 * SECOND, config),
      changed: false,
      reason: 'failure of RCA-F0 already counted',
    },
    {
      step: 'an opening by hand',
      run: () => forceOpen(closedWith(1), 'upgrade', T0),
      changed: true,
      reason: 'opened by hand: upgrade',
    },
    {
      step: 'a closing by hand',
      run: () => forceClose(closedWith(1), 'fixed', T0),
      changed: true,
      reason: 'closed by hand: fixed',
    },
    {
      step: 'a closing by hand of an open breaker',
      run: () => forceClose(opened().breaker, 'fixed', T0),
      changed: true,
      reason: 'closed by hand: fixed',
    },
    {
      step: 'an opening by hand of an open breaker',
      run: () => forceOpen(opened().breaker, 'upgrade', T0),
      changed: true,
      reason: 'opened by hand: upgrade',
    },
  ])('reports $step with its reason and whether it must be written', ({ run, changed, reason }) => {
    // Act
    const step = run();

    // Assess
    expect(step.changed).toBe(changed);
    expect(step.reason).toBe(reason);
  });

  it.each([
    {
      label: 'an automatically opened breaker names its until-time and why',
      make: () => opened().breaker,
      reason: `open until ${new Date(T0 + 2 * 60 * SECOND + 1800 * SECOND).toISOString()}: 3 failed recoveries within 3600 s; open for 1800 s`,
    },
    {
      label: 'a breaker opened by hand until a time names that time',
      make: () => forceOpen(newBreaker(SCOPE, T0), 'upgrade', T0, T0 + 3600 * SECOND).breaker,
      reason: `opened by hand (upgrade) until ${new Date(T0 + 3600 * SECOND).toISOString()}`,
    },
  ])('blocks with a reason: $label', ({ make, reason }) => {
    // Act
    const step = acquire(make(), 'RCA-9', T0 + 60 * SECOND, config);

    // Assess
    expect(step.allowed).toBe(false);
    expect(step.reason).toBe(reason);
  });

  it('opens without a transition when the breaker is already open, and records the until-time', () => {
    // Prepare
    const until = T0 + 3600 * SECOND;

    // Act
    const step = forceOpen(opened().breaker, 'upgrade', T0, until);

    // Assess
    expect(step).not.toHaveProperty('transition');
    expect(step.breaker.manual).toEqual({ reason: 'upgrade', at: T0, until });
    expect(step.breaker.openUntil).toBe(until);
  });

  it('records a manual opening without an until-time as open until closed by hand', () => {
    // Act
    const step = forceOpen(closedWith(0), 'upgrade', T0);

    // Assess
    expect(step.breaker.manual).toStrictEqual({ reason: 'upgrade', at: T0 });
  });

  it('keeps the 50 most recent failures of a breaker that stays open', () => {
    // Prepare
    let breaker = newBreaker(SCOPE, T0);

    // Act
    for (let i = 0; i < 60; i++) {
      breaker = recordFailure(breaker, `RCA-F${i}`, T0 + i * SECOND, config).breaker;
    }

    // Assess
    expect(breaker.recentFailures).toHaveLength(50);
    expect(breaker.recentFailures[0]).toEqual({ ticketId: 'RCA-F10', at: T0 + 10 * SECOND });
    expect(breaker.totalFailures).toBe(60);
  });

  it('writes a repeated failure that lets expired failures go', () => {
    // Prepare
    const early = recordFailure(newBreaker(SCOPE, T0), 'RCA-OLD', T0, config).breaker;
    const before = recordFailure(early, 'RCA-NEW', T0 + 3000 * SECOND, config).breaker;

    // Act
    const step = recordFailure(before, 'RCA-NEW', T0 + 3700 * SECOND, config);

    // Assess
    expect(step.changed).toBe(true);
    expect(step.breaker.recentFailures.map((failure) => failure.ticketId)).toEqual(['RCA-NEW']);
    expect(step.breaker.totalFailures).toBe(2);
  });
});

describe('a half-open breaker whose probe was released', () => {
  function released(): Breaker {
    const { breaker, claimedAt } = halfOpen();
    return release(breaker, 'RCA-PROBE', claimedAt).breaker;
  }

  it.each([
    {
      step: 'a success',
      run: (b: Breaker) => recordSuccess(b, 'RCA-PROBE', T0),
      state: 'half_open',
      changed: false,
    },
    {
      step: 'a release',
      run: (b: Breaker) => release(b, 'RCA-PROBE', T0),
      state: 'half_open',
      changed: false,
    },
    {
      step: 'a late failure',
      run: (b: Breaker) => recordFailure(b, 'RCA-PROBE', T0 + 3 * 3600 * SECOND, config),
      state: 'half_open',
      changed: true,
    },
  ])('takes $step of the former probe holder without closing or opening', ({ run, state, changed }) => {
    // Prepare
    const before = released();

    // Act
    const step = run(before);

    // Assess
    expect(step.breaker.state).toBe(state);
    expect(step.changed).toBe(changed);
  });
});

describe('breakerScopes', () => {
  it.each([
    {
      recovery: { workspaceId: 'ws1', clusterId: '0102-abc', errorType: 'DatabricksResourceExhausted' },
      scopes: ['cluster#ws1#0102-abc', 'error_type#DatabricksResourceExhausted'],
    },
    {
      recovery: { workspaceId: 'ws1', errorType: 'DatabricksJobFailure' },
      scopes: ['error_type#DatabricksJobFailure'],
    },
  ])('names the breakers of $recovery.errorType (cluster $recovery.clusterId)', ({ recovery, scopes }) => {
    // Act
    const named = breakerScopes(recovery);

    // Assess
    expect(named).toEqual(scopes);
  });
});

/** Breakers kept in a map and moved by the real transitions, as the repository moves them. */
function memoryStore(
  start: Record<string, Breaker> = {},
  now = T0,
): BreakerOutcomeStore & {
  readonly breakers: Map<string, Breaker>;
} {
  const breakers = new Map(Object.entries(start));
  const apply = async (scope: string, step: (b: Breaker) => ReturnType<typeof release>) => {
    const next = step(breakers.get(scope) ?? newBreaker(scope, now));
    breakers.set(scope, next.breaker);
    return next;
  };
  return {
    breakers,
    recordSuccess: (scope, ticketId) => apply(scope, (b) => recordSuccess(b, ticketId, now)),
    recordFailure: (scope, ticketId) => apply(scope, (b) => recordFailure(b, ticketId, now, config)),
    release: (scope, ticketId) => apply(scope, (b) => release(b, ticketId, now)),
  };
}

describe('recordBreakerOutcome', () => {
  const other = 'error_type#DatabricksResourceExhausted';

  it('reports the breaker the threshold-th failure opens, and only that one', async () => {
    // Prepare
    const store = memoryStore({ [SCOPE]: closedWith(config.failureThreshold - 1) });

    // Act
    const changes = await recordBreakerOutcome(store, [SCOPE, other], 'RCA-LAST', 'failure');

    // Assess
    expect(changes).toEqual([{ scope: SCOPE, transition: 'opened' }]);
    expect(store.breakers.get(other)?.state).toBe('closed');
  });

  it('still reports the breaker a retried failure of the same ticket opened the first time', async () => {
    // Prepare
    const store = memoryStore({ [SCOPE]: closedWith(config.failureThreshold - 1) });
    await recordBreakerOutcome(store, [SCOPE], 'RCA-LAST', 'failure');

    // Act
    const again = await recordBreakerOutcome(store, [SCOPE], 'RCA-LAST', 'failure');

    // Assess
    expect(again).toEqual([{ scope: SCOPE, transition: 'opened' }]);
  });

  it.each([
    { outcome: 'failure' as const, ticketId: 'RCA-LATE', changes: [] },
    { outcome: 'success' as const, ticketId: 'RCA-F0', changes: [] },
    { outcome: 'release' as const, ticketId: 'RCA-F0', changes: [] },
  ])('reports no opening for a $outcome of $ticketId in a breaker others opened', async (row) => {
    // Prepare
    const store = memoryStore({ [SCOPE]: opened().breaker });

    // Act
    const changes = await recordBreakerOutcome(store, [SCOPE], row.ticketId, row.outcome);

    // Assess
    expect(changes).toEqual(row.changes);
  });

  it.each([
    { outcome: 'success' as const, transition: 'closed', state: 'closed' },
    { outcome: 'release' as const, transition: 'probe_released', state: 'half_open' },
    { outcome: 'failure' as const, transition: 'opened', state: 'open' },
  ])('reports $transition for a $outcome of the half-open probe', async ({ outcome, transition, state }) => {
    // Prepare
    const { breaker, openedAt } = opened();
    const probing = acquire(breaker, 'RCA-PROBE', openedAt + config.cooldownSeconds * SECOND, config).breaker;
    const store = memoryStore({ [SCOPE]: probing }, openedAt + config.cooldownSeconds * SECOND + 1);

    // Act
    const changes = await recordBreakerOutcome(store, [SCOPE], 'RCA-PROBE', outcome);

    // Assess
    expect(changes).toEqual([{ scope: SCOPE, transition }]);
    expect(store.breakers.get(SCOPE)?.state).toBe(state);
  });
});

describe('openedBy', () => {
  it.each([
    {
      who: 'the ticket whose failure opened it',
      breaker: () => opened().breaker,
      ticketId: 'RCA-F2',
      by: true,
    },
    {
      who: 'an earlier failure in the window',
      breaker: () => opened().breaker,
      ticketId: 'RCA-F0',
      by: false,
    },
    {
      who: 'a ticket, when an operator opened it',
      breaker: () => forceOpen(closedWith(0), 'maintenance', T0).breaker,
      ticketId: 'RCA-F0',
      by: false,
    },
    {
      who: 'the failure of a hand-opened breaker',
      breaker: () => forceOpen(opened().breaker, 'maintenance', T0 + 10 * 60 * SECOND).breaker,
      ticketId: 'RCA-F2',
      by: false,
    },
    { who: 'a ticket, when it is closed', breaker: () => closedWith(2), ticketId: 'RCA-F1', by: false },
  ])('says $by for $who', ({ breaker, ticketId, by }) => {
    // Act
    const answer = openedBy(breaker(), ticketId);

    // Assess
    expect(answer).toBe(by);
  });
});
