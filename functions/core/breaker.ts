/**
 * Circuit breakers: pure transition logic. A breaker guards one scope (a cluster, an error type) and
 * stops automation from retrying a recovery that keeps failing.
 *
 * ```
 *            N failures in window            cool-down elapsed, first acquire claims the probe
 *  closed ───────────────────────────> open ───────────────────────────────────────────> half_open
 *    ^                                  ^                                                    │
 *    │                                  └────────────────── probe failed ────────────────────┤
 *    └──────────────────────────────────────────────────── probe succeeded ──────────────────┘
 * ```
 * An operator can open a breaker by hand (maintenance, with an optional until-time; without one it
 * stays open until closed by hand) and close it by hand from any state.
 *
 * Every function takes the current breaker and returns the next one plus what changed; the repository
 * persists the result with a conditional write on `version`. Times are epoch milliseconds.
 */

export type BreakerState = 'closed' | 'open' | 'half_open';

/** What a step did to the state, for alerts ("Circuit breaker opened") and the audit trail. */
export type BreakerTransition = 'opened' | 'half_opened' | 'closed' | 'probe_released';

export interface BreakerConfig {
  /** Failed recoveries within the window that open the breaker. @default 3 */
  readonly failureThreshold: number;
  /** Length of the sliding failure window. @default 3600 */
  readonly windowSeconds: number;
  /** How long an automatically opened breaker stays open before it lets one probe through. @default 1800 */
  readonly cooldownSeconds: number;
  /**
   * A claimed probe that reports neither success nor failure within this time (its workflow died)
   * no longer blocks: the next acquire claims a new probe. @default 3600
   */
  readonly probeTimeoutSeconds: number;
}

export const DEFAULT_BREAKER_CONFIG: BreakerConfig = {
  failureThreshold: 3,
  windowSeconds: 3600,
  cooldownSeconds: 1800,
  probeTimeoutSeconds: 3600,
};

/** At most this many recent failures are kept (never fewer than the threshold). */
const MAX_RECENT_FAILURES = 50;

export interface BreakerFailure {
  readonly ticketId: string;
  readonly at: number;
}

export interface Breaker {
  readonly scope: string;
  readonly state: BreakerState;
  /** Failures inside the window, oldest first, one per ticket. */
  readonly recentFailures: readonly BreakerFailure[];
  /** Every failure ever recorded (one per ticket while it is in the window). */
  readonly totalFailures: number;
  readonly openedAt?: number;
  /**
   * When an open breaker may half-open. Absent on a breaker opened by hand without an until-time:
   * it stays open until closed by hand.
   */
  readonly openUntil?: number;
  /** Set when an operator opened the breaker. */
  readonly manual?: { readonly reason: string; readonly at: number; readonly until?: number };
  /** The one recovery a half-open breaker lets through. */
  readonly probe?: { readonly ticketId: string; readonly at: number };
  /** Why the breaker is in its current state. */
  readonly reason: string;
  readonly updatedAt: number;
  /** Incremented on every change; the repository's conditional writes compare it. 0 = never stored. */
  readonly version: number;
}

export interface BreakerStep {
  /** The next breaker (the same object when nothing changed). */
  readonly breaker: Breaker;
  /** Whether `breaker` must be written. */
  readonly changed: boolean;
  readonly transition?: BreakerTransition;
  readonly reason: string;
}

export interface AcquireStep extends BreakerStep {
  /** Whether the recovery may proceed. */
  readonly allowed: boolean;
  /** True when this acquire claimed the half-open probe (and must release it if it does not proceed). */
  readonly probe: boolean;
}

export function clusterScope(workspaceId: string, clusterId: string): string {
  return `cluster#${workspaceId}#${clusterId}`;
}

export function errorTypeScope(errorType: string): string {
  return `error_type#${errorType}`;
}

/**
 * The breakers one recovery passes and records its outcome on: its cluster's, when it names one, and
 * its error type's. The incident path, the workflow's Close and Escalate, the reconciler and `rca
 * doctor` all ask here.
 */
export function breakerScopes(recovery: {
  readonly workspaceId: string;
  readonly clusterId?: string | undefined;
  readonly errorType: string;
}): string[] {
  return [
    ...(recovery.clusterId === undefined ? [] : [clusterScope(recovery.workspaceId, recovery.clusterId)]),
    errorTypeScope(recovery.errorType),
  ];
}

/** What a finished recovery means to its breakers: nothing tried (`release`) gives the probe back. */
export type BreakerOutcome = 'success' | 'failure' | 'release';

/** What recording an outcome needs of the breakers' store (`BreakerRepository` is one). */
export interface BreakerOutcomeStore {
  recordSuccess(scope: string, ticketId: string): Promise<BreakerOutcomeResult>;
  recordFailure(scope: string, ticketId: string): Promise<BreakerOutcomeResult>;
  release(scope: string, ticketId: string): Promise<BreakerOutcomeResult>;
}

export interface BreakerOutcomeResult {
  readonly breaker: Breaker;
  readonly transition?: BreakerTransition;
}

/** A breaker a recorded outcome moved; `opened` is the seed's "Circuit breaker opened" alert. */
export interface BreakerChange {
  readonly scope: string;
  readonly transition: BreakerTransition;
}

/**
 * Records one recovery's outcome on each of its scopes and returns what changed. A failure also
 * reports a breaker this ticket opened earlier (`openedBy`): a retried Escalate or a reconciler pass
 * after a crash records a duplicate, which changes nothing, yet the alert must not be lost.
 */
export async function recordBreakerOutcome(
  store: BreakerOutcomeStore,
  scopes: readonly string[],
  ticketId: string,
  outcome: BreakerOutcome,
): Promise<BreakerChange[]> {
  const changes: BreakerChange[] = [];
  for (const scope of scopes) {
    const result =
      outcome === 'success'
        ? await store.recordSuccess(scope, ticketId)
        : outcome === 'failure'
          ? await store.recordFailure(scope, ticketId)
          : await store.release(scope, ticketId);
    const transition =
      result.transition ??
      (outcome === 'failure' && openedBy(result.breaker, ticketId) ? 'opened' : undefined);
    if (transition !== undefined) changes.push({ scope, transition });
  }
  return changes;
}

/**
 * Whether the breaker is open because of this ticket's failure: the failure that opened it carries
 * the opening time. A breaker opened by hand was opened by no ticket.
 */
export function openedBy(breaker: Breaker, ticketId: string): boolean {
  return (
    breaker.state === 'open' &&
    breaker.manual === undefined &&
    breaker.openedAt !== undefined &&
    breaker.recentFailures.some((failure) => failure.ticketId === ticketId && failure.at === breaker.openedAt)
  );
}

/** A breaker that has never seen a failure. */
export function newBreaker(scope: string, now: number): Breaker {
  return {
    scope,
    state: 'closed',
    recentFailures: [],
    totalFailures: 0,
    reason: 'no failures recorded',
    updatedAt: now,
    version: 0,
  };
}

/** Asks whether a recovery for `ticketId` may proceed; in an expired open breaker it claims the probe. */
export function acquire(breaker: Breaker, ticketId: string, now: number, config: BreakerConfig): AcquireStep {
  switch (breaker.state) {
    case 'closed':
      return { ...unchanged(breaker, 'breaker is closed'), allowed: true, probe: false };
    case 'open': {
      if (breaker.openUntil === undefined || now < breaker.openUntil) {
        return { ...unchanged(breaker, openReason(breaker)), allowed: false, probe: false };
      }
      const reason = `cool-down elapsed; ${ticketId} is the probe`;
      const next = change(breaker, now, {
        state: 'half_open',
        probe: { ticketId, at: now },
        manual: undefined,
        reason,
      });
      return { breaker: next, changed: true, transition: 'half_opened', reason, allowed: true, probe: true };
    }
    case 'half_open': {
      const probe = breaker.probe;
      if (probe?.ticketId === ticketId) {
        // The same ticket asking again (a retried intake or task) keeps its probe.
        return { ...unchanged(breaker, `${ticketId} holds the probe`), allowed: true, probe: true };
      }
      if (probe !== undefined && now - probe.at < config.probeTimeoutSeconds * 1000) {
        return {
          ...unchanged(breaker, `half-open; waiting for the probe ${probe.ticketId}`),
          allowed: false,
          probe: false,
        };
      }
      const reason =
        probe === undefined
          ? `half-open; ${ticketId} is the probe`
          : `probe ${probe.ticketId} timed out; ${ticketId} is the probe`;
      const next = change(breaker, now, { probe: { ticketId, at: now }, reason });
      return { breaker: next, changed: true, reason, allowed: true, probe: true };
    }
  }
}

/** Gives back a probe claimed by `ticketId` that will not run (another scope blocked the recovery). */
export function release(breaker: Breaker, ticketId: string, now: number): BreakerStep {
  if (breaker.state !== 'half_open' || breaker.probe?.ticketId !== ticketId) {
    return unchanged(breaker, `${ticketId} holds no probe`);
  }
  const reason = `probe released by ${ticketId}`;
  return {
    breaker: change(breaker, now, { probe: undefined, reason }),
    changed: true,
    transition: 'probe_released',
    reason,
  };
}

/** A recovery succeeded. Only the probe's success closes a half-open breaker. */
export function recordSuccess(breaker: Breaker, ticketId: string, now: number): BreakerStep {
  if (breaker.state === 'half_open' && breaker.probe?.ticketId === ticketId) {
    const reason = `probe ${ticketId} succeeded`;
    return {
      breaker: change(breaker, now, {
        state: 'closed',
        recentFailures: [],
        probe: undefined,
        openedAt: undefined,
        openUntil: undefined,
        reason,
      }),
      changed: true,
      transition: 'closed',
      reason,
    };
  }
  // A success in a closed breaker does not forgive earlier failures: the window counts failed
  // recoveries, and a cluster that keeps failing after successful recoveries should still trip it.
  return unchanged(breaker, `success of ${ticketId} changes nothing in state ${breaker.state}`);
}

/**
 * A recovery failed. It is counted once per ticket; in a closed breaker the threshold-th failure
 * within the window opens it, in a half-open breaker the probe's failure opens it again.
 */
export function recordFailure(
  breaker: Breaker,
  ticketId: string,
  now: number,
  config: BreakerConfig,
): BreakerStep {
  const windowStart = now - config.windowSeconds * 1000;
  const inWindow = breaker.recentFailures.filter((failure) => failure.at > windowStart);
  const duplicate = inWindow.some((failure) => failure.ticketId === ticketId);
  const keep = Math.max(config.failureThreshold, MAX_RECENT_FAILURES);
  const recentFailures = duplicate ? inWindow : [...inWindow, { ticketId, at: now }].slice(-keep);
  const totalFailures = breaker.totalFailures + (duplicate ? 0 : 1);
  const counted = { recentFailures, totalFailures };

  const open = (reason: string): BreakerStep => ({
    breaker: change(breaker, now, {
      ...counted,
      state: 'open',
      probe: undefined,
      openedAt: now,
      openUntil: now + config.cooldownSeconds * 1000,
      reason,
    }),
    changed: true,
    transition: 'opened',
    reason,
  });

  if (breaker.state === 'half_open' && breaker.probe?.ticketId === ticketId) {
    return open(`probe ${ticketId} failed; open for ${config.cooldownSeconds} s`);
  }
  if (breaker.state === 'closed' && recentFailures.length >= config.failureThreshold) {
    return open(
      `${recentFailures.length} failed recoveries within ${config.windowSeconds} s; open for ${config.cooldownSeconds} s`,
    );
  }
  if (duplicate && inWindow.length === breaker.recentFailures.length) {
    return unchanged(breaker, `failure of ${ticketId} already counted`);
  }
  // Counted but no state change (closed below the threshold, or a late failure while open/half-open).
  return {
    breaker: change(breaker, now, counted),
    changed: true,
    reason: `${recentFailures.length} of ${config.failureThreshold} failures within the window`,
  };
}

/** Opens the breaker by hand. Without `until` it stays open until closed by hand. */
export function forceOpen(breaker: Breaker, reason: string, now: number, until?: number): BreakerStep {
  const next = change(breaker, now, {
    state: 'open',
    manual: until === undefined ? { reason, at: now } : { reason, at: now, until },
    probe: undefined,
    openedAt: now,
    openUntil: until,
    reason: `opened by hand: ${reason}`,
  });
  const transition = breaker.state === 'open' ? undefined : 'opened';
  return transition === undefined
    ? { breaker: next, changed: true, reason: next.reason }
    : { breaker: next, changed: true, transition, reason: next.reason };
}

/** Closes the breaker by hand from any state and forgets its failures. */
export function forceClose(breaker: Breaker, reason: string, now: number): BreakerStep {
  const next = change(breaker, now, {
    state: 'closed',
    recentFailures: [],
    manual: undefined,
    probe: undefined,
    openedAt: undefined,
    openUntil: undefined,
    reason: `closed by hand: ${reason}`,
  });
  return breaker.state === 'closed'
    ? { breaker: next, changed: true, reason: next.reason }
    : { breaker: next, changed: true, transition: 'closed', reason: next.reason };
}

function openReason(breaker: Breaker): string {
  if (breaker.manual !== undefined) {
    const until =
      breaker.manual.until === undefined ? 'until closed by hand' : `until ${iso(breaker.manual.until)}`;
    return `opened by hand (${breaker.manual.reason}) ${until}`;
  }
  const until = breaker.openUntil === undefined ? '' : ` until ${iso(breaker.openUntil)}`;
  return `open${until}: ${breaker.reason}`;
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function unchanged(breaker: Breaker, reason: string): BreakerStep {
  return { breaker, changed: false, reason };
}

type BreakerPatch = { -readonly [K in keyof Breaker]?: Breaker[K] | undefined };

/** Applies a patch (an `undefined` value removes the field) and bumps the version. */
function change(breaker: Breaker, now: number, patch: BreakerPatch): Breaker {
  const merged: Record<string, unknown> = {
    ...breaker,
    ...patch,
    updatedAt: now,
    version: breaker.version + 1,
  };
  for (const key of Object.keys(merged)) {
    if (merged[key] === undefined) delete merged[key];
  }
  return merged as unknown as Breaker;
}

/** Merges a partial configuration over the defaults and rejects values that cannot work. */
export function resolveBreakerConfig(config: Partial<BreakerConfig> = {}): BreakerConfig {
  const resolved = { ...DEFAULT_BREAKER_CONFIG, ...config };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`breaker config ${key} must be a positive number, got ${value}`);
    }
  }
  if (!Number.isInteger(resolved.failureThreshold)) {
    throw new RangeError(
      `breaker config failureThreshold must be a whole number, got ${resolved.failureThreshold}`,
    );
  }
  return resolved;
}
