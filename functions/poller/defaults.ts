/** The poller's knobs as they are when `POLLER_CONFIG` sets none (`config.ts` validates and merges it). */

import type { PollerOptions } from './config.ts';

export const DEFAULT_POLLER_OPTIONS: PollerOptions = {
  overlapMs: 10 * 60_000,
  initialLookbackMs: 60 * 60_000,
  maxCatchUpMs: 6 * 60 * 60_000,
  stuckAfterMs: 20 * 60_000,
  restartWindowMs: 30 * 60_000,
  pageSize: 100,
  maxConcurrentRequests: 4,
  callTimeoutMs: 45_000,
  signalConcurrency: 4,
  maxEventChecksPerWorkspace: 50,
  setAsideAfterRuns: 3,
  reconcileBatchSize: 25,
  reconcileGraceMs: 2 * 60_000,
  startPendingMaxAgeMs: 60 * 60_000,
  safetyMarginMs: 10_000,
  reconcileReserveMs: 20_000,
};
