#!/usr/bin/env node
/**
 * `npm run soak`: a simulated day of the local system (see lib/local/soak.ts). Ends with one JSON
 * line; the exit code is non-zero unless there was no harm, no stuck ticket, exactly one ticket per
 * genuine failure and none for a benign event.
 *
 * Environment: SOAK_FAILURES (220), SOAK_BENIGN (220), SOAK_HOURS (24), SOAK_TIME_SCALE (480).
 */
import { optionalEnv } from '../functions/shared/env.ts';
import { runSoak } from '../lib/local/soak.ts';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const number = (name: string): number | undefined => {
  const raw = optionalEnv(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, not '${raw}'`);
  return value;
};

const result = await runSoak({
  failures: number('SOAK_FAILURES'),
  benign: number('SOAK_BENIGN'),
  hours: number('SOAK_HOURS'),
  timeScale: number('SOAK_TIME_SCALE'),
});
process.stderr.write(`${JSON.stringify({ ...result, harmDetails: result.harmDetails })}\n`);
const { failures, tickets, ticketsPerFailure, harms, stuck, fiveXX, faultsInjected, recovered, escalated } =
  result;
// fiveXX: the system's own 5xx answers; faultsInjected: the throttles and 5xx the simulated Databricks answered it with.
process.stdout.write(
  `${JSON.stringify({ failures, tickets, ticketsPerFailure: { max: ticketsPerFailure.max }, harms, stuck, fiveXX, faultsInjected: faultsInjected.total, recovered, escalated })}\n`,
);
process.exitCode = result.ok ? 0 : 1;
