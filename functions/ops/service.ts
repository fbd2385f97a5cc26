/**
 * Kept only so that `ops/outages.ts` and `lib/local/host.ts` (changed on other branches) still import
 * from here; the operations API's business is in `deps.ts`, `tickets.ts`, `breakers.ts`,
 * `silences.ts`, `report.ts` and `doctor.ts`. Delete once both import `deps.ts`.
 */
export type { OpsDeps, RetryBatchLimits } from './deps.ts';
