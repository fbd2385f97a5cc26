/**
 * The soak: the local system (DynamoDB Local, the real workflow on aws-local-stepfunctions, the
 * poller on a short schedule, the intake behind its local API Gateway, the simulator) through a
 * simulated day in a few minutes. Genuine failures of every class and benign events (user stops,
 * autoterminations, self-healed drivers, normal job ends) happen on their own clusters; users race the
 * automation; webhooks and job notifications arrive twice and late; Databricks throttles and fails.
 *
 * It reuses the local host (`host.ts`) as it is: nothing here is a second copy of the system.
 *
 * The verdict: every genuine failure has exactly one ticket, no benign event has one, no harm (the
 * simulator's harm ledger when it has one — `GET /__admin/harms` — else the same rules judged from
 * the clusters' event logs), and no ticket left unresolved once the day is over.
 *
 * The phases: the plan (soak-plan.ts: the workspace and the timed events), the day (soak-day.ts),
 * the drain and the verdict (soak-verdict.ts).
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { startLocalHost } from './host.ts';
import { SoakDay } from './soak-day.ts';
import { BENIGN, CLASSES, MINUTE, planDay, random, soakWorkspace } from './soak-plan.ts';
import { drain, type SoakResult, verdict } from './soak-verdict.ts';

export { type Harm, judge, type SoakResult } from './soak-verdict.ts';

export interface SoakOptions {
  /** Genuine failures (at least one of every class). @default 220 */
  readonly failures?: number;
  /** Benign events. @default 220 */
  readonly benign?: number;
  /** Simulated hours the events are spread over. @default 24 */
  readonly hours?: number;
  /** Simulated ms per real ms. @default 480 (a day in three minutes) */
  readonly timeScale?: number;
  /** Real seconds between poller runs. @default 2 */
  readonly pollIntervalSeconds?: number;
  /** Share of genuine failures a user races (stop, start or edit mid-recovery). @default 0.2 */
  readonly raceShare?: number;
  /** Real seconds to wait at most for every recovery to end after the day (it stops once they have). @default 300 */
  readonly drainSeconds?: number;
  readonly seed?: number;
  /** Progress lines (stderr by default). */
  readonly progress?: (line: string) => void;
}

export async function runSoak(options: SoakOptions = {}): Promise<SoakResult> {
  const failures = Math.max(CLASSES.length, options.failures ?? 220);
  const benign = Math.max(BENIGN.length, options.benign ?? 220);
  const dayMs = (options.hours ?? 24) * 60 * MINUTE;
  const timeScale = options.timeScale ?? 480;
  const say = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const workspace = soakWorkspace(failures, benign, options.seed ?? 11);
  const plan = planDay(workspace, {
    dayMs,
    rnd: random(options.seed ?? 11),
    raceShare: options.raceShare ?? 0.2,
  });
  const host = await startLocalHost({
    port: 0,
    timeScale,
    pollIntervalSeconds: options.pollIntervalSeconds ?? 2,
    logger: new Logger({ serviceName: 'soak', logLevel: 'ERROR' }),
    // The soak judges what the automation does on its own: the approval gate (required by default for
    // node-type fallbacks and rollbacks) is off here; test/cli/approval.test.ts tests the gate.
    playbookOverrides: {
      DatabricksResourceExhausted: { fallback_node_types: ['r5.4xlarge', 'm5.4xlarge'], approval: 'off' },
      DatabricksConfigurationError: { approval: 'off' },
    },
  });
  try {
    const simulator = host.simulator;
    if (simulator === undefined) throw new Error('the soak needs the simulator');
    simulator.admin.loadScenario(workspace.scenario, { replace: true });
    const day = new SoakDay(host, simulator);
    await day.run(plan, timeScale, say);
    const tickets = await drain(host, Date.now() + (options.drainSeconds ?? 300) * 1000);
    const result = await verdict(day, workspace, tickets, simulator);
    say(`soak: ${day.delivered} deliveries, ${tickets.length} tickets`);
    return result;
  } finally {
    await host.close();
  }
}
