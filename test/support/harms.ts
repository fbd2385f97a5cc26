/**
 * The harm ledger in tests: every suite that drives the simulator ends each test with an empty
 * ledger, so a recovery that harms a cluster (starts what its owner stopped, restarts a healthy
 * cluster, touches a job's cluster, …) fails the test that caused it. A test that expects a harm
 * takes it explicitly with `takeHarms`.
 */
import { afterEach, expect } from 'vitest';
import type { Harm } from '../../lib/simulator/harms.ts';
import type { RunningSimulator } from '../../lib/simulator/index.ts';

type Simulators = () => Iterable<RunningSimulator | undefined> | RunningSimulator | undefined;

/** After each test, asserts that the simulators' harm ledgers are empty (and empties them). */
export function useHarmLedger(simulators: Simulators): void {
  afterEach(() => {
    const given = simulators();
    const list = given === undefined || 'admin' in given ? [given] : [...given];
    const harms: Harm[] = [];
    for (const sim of list) if (sim !== undefined) harms.push(...takeHarms(sim));
    expect(harms, 'the simulator recorded harms this test did not expect').toEqual([]);
  });
}

/** The harms recorded so far, taken out of the ledger: for a test that expects them. */
export function takeHarms(sim: RunningSimulator): Harm[] {
  const harms = sim.admin.harms();
  sim.admin.clearHarms();
  return harms;
}

/** `rule cluster_id` of each harm, the shape tests compare. */
export const harmSummary = (harms: readonly Harm[]): string[] =>
  harms.map((harm) => `${harm.rule} ${harm.cluster_id}`);
