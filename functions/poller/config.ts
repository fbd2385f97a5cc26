/**
 * The poller's knobs. Operators set them in seconds (`POLLER_CONFIG`, the CDK prop `pollerConfig`);
 * the code works in milliseconds.
 */

import { ConfigurationError, describeIssues } from '../core/errors.ts';
import * as z from '../core/zod.ts';
import { DEFAULT_POLLER_OPTIONS } from './defaults.ts';

export interface PollerOptions {
  /**
   * Terminations and driver losses are looked for after `cursor − overlap`, so nothing that
   * happened while the previous poll was listing (or hidden by clock skew) falls between two polls.
   */
  readonly overlapMs: number;
  /** Look-back of a workspace's first poll, which has no cursor yet. */
  readonly initialLookbackMs: number;
  /**
   * The window never starts earlier than this before the poll: after a long outage, failures older
   * than this are left to people instead of being ticketed and recovered all at once.
   */
  readonly maxCatchUpMs: number;
  /** A cluster PENDING or RESTARTING for longer than this is stuck. */
  readonly stuckAfterMs: number;
  /** How far before a driver's state loss a restart event may explain it. */
  readonly restartWindowMs: number;
  /** Clusters per `clusters/list` page (the API's maximum is 100). */
  readonly pageSize: number;
  /**
   * Databricks calls in flight at once, over every workspace; one workspace holds at most half of
   * them (rounded up), so that a slow one cannot starve the others.
   */
  readonly maxConcurrentRequests: number;
  /** Bound on one Databricks call, retries and Retry-After waits included (never past the run's end). */
  readonly callTimeoutMs: number;
  /** Failures of one workspace recorded (ticket, breakers, workflow) at once. */
  readonly signalConcurrency: number;
  /**
   * `clusters/events` look-ups per workspace and run, oldest candidates first; past it the rest waits
   * for the next run and the cursor stops just before the oldest of them.
   */
  readonly maxEventChecksPerWorkspace: number;
  /**
   * An item (a candidate or a failure to record) that fails in this many runs in a row is set aside —
   * recorded in the cursor's memory, counted, logged — so that the cursor can move past it.
   */
  readonly setAsideAfterRuns: number;
  /** Tickets the reconciler looks at per run, in each of its two passes. */
  readonly reconcileBatchSize: number;
  /** A ticket untouched for less than this is left alone: its intake or workflow may still be at work. */
  readonly reconcileGraceMs: number;
  /**
   * A `start_pending` ticket detected longer ago than this whose workflow still cannot be started is
   * escalated instead of being retried forever.
   */
  readonly startPendingMaxAgeMs: number;
  /** No new step starts with less time than this left before the Lambda's deadline. */
  readonly safetyMarginMs: number;
  /** Time kept back from detection for the reconciler. */
  readonly reconcileReserveMs: number;
}

// In a module of its own, without the schema below: a function that only needs the defaults (the
// workflow task's drain of the cap's queue) leaves the schema out of its bundle.
export { DEFAULT_POLLER_OPTIONS };

const seconds = z.number().check(z.int(), z.nonnegative());
const positive = z.number().check(z.int(), z.positive());

/** `POLLER_CONFIG`: every key optional, durations in seconds; an unknown key is an error. */
export const PollerConfigSchema = z.strictObject({
  overlapSeconds: z.optional(seconds.check(z.lte(24 * 3600))),
  initialLookbackSeconds: z.optional(seconds.check(z.lte(30 * 24 * 3600))),
  maxCatchUpSeconds: z.optional(positive.check(z.lte(30 * 24 * 3600))),
  stuckAfterSeconds: z.optional(positive.check(z.lte(24 * 3600))),
  restartWindowSeconds: z.optional(positive.check(z.lte(24 * 3600))),
  pageSize: z.optional(positive.check(z.lte(100))),
  maxConcurrentRequests: z.optional(positive.check(z.lte(32))),
  callTimeoutSeconds: z.optional(positive.check(z.gte(5), z.lte(300))),
  signalConcurrency: z.optional(positive.check(z.lte(32))),
  maxEventChecksPerWorkspace: z.optional(seconds.check(z.lte(1000))),
  setAsideAfterRuns: z.optional(positive.check(z.lte(100))),
  reconcileBatchSize: z.optional(seconds.check(z.lte(500))),
  reconcileGraceSeconds: z.optional(seconds.check(z.lte(24 * 3600))),
  startPendingMaxAgeSeconds: z.optional(positive.check(z.lte(7 * 24 * 3600))),
  safetyMarginSeconds: z.optional(seconds.check(z.lte(600))),
  reconcileReserveSeconds: z.optional(seconds.check(z.lte(600))),
});
export type PollerConfig = z.input<typeof PollerConfigSchema>;

/** Validates operator configuration and fills in the defaults. */
export function resolvePollerOptions(config: unknown = {}): PollerOptions {
  const parsed = PollerConfigSchema.safeParse(config ?? {});
  if (!parsed.success) {
    throw new ConfigurationError(`invalid poller configuration: ${describeIssues(parsed.error).join('; ')}`);
  }
  const c = parsed.data;
  const d = DEFAULT_POLLER_OPTIONS;
  const ms = (value: number | undefined, fallback: number) => (value === undefined ? fallback : value * 1000);
  return {
    overlapMs: ms(c.overlapSeconds, d.overlapMs),
    initialLookbackMs: ms(c.initialLookbackSeconds, d.initialLookbackMs),
    maxCatchUpMs: ms(c.maxCatchUpSeconds, d.maxCatchUpMs),
    stuckAfterMs: ms(c.stuckAfterSeconds, d.stuckAfterMs),
    restartWindowMs: ms(c.restartWindowSeconds, d.restartWindowMs),
    pageSize: c.pageSize ?? d.pageSize,
    maxConcurrentRequests: c.maxConcurrentRequests ?? d.maxConcurrentRequests,
    callTimeoutMs: ms(c.callTimeoutSeconds, d.callTimeoutMs),
    signalConcurrency: c.signalConcurrency ?? d.signalConcurrency,
    maxEventChecksPerWorkspace: c.maxEventChecksPerWorkspace ?? d.maxEventChecksPerWorkspace,
    setAsideAfterRuns: c.setAsideAfterRuns ?? d.setAsideAfterRuns,
    reconcileBatchSize: c.reconcileBatchSize ?? d.reconcileBatchSize,
    reconcileGraceMs: ms(c.reconcileGraceSeconds, d.reconcileGraceMs),
    startPendingMaxAgeMs: ms(c.startPendingMaxAgeSeconds, d.startPendingMaxAgeMs),
    safetyMarginMs: ms(c.safetyMarginSeconds, d.safetyMarginMs),
    reconcileReserveMs: ms(c.reconcileReserveSeconds, d.reconcileReserveMs),
  };
}
