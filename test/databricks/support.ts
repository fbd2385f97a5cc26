import { type AuthProvider, patAuth } from '../../functions/databricks/auth.ts';
import { DatabricksClient, type DatabricksClientOptions } from '../../functions/databricks/client.ts';
import type { Clock } from '../../functions/databricks/retry.ts';
import type { RunningSimulator } from '../../lib/simulator/server.ts';

/**
 * The client's clock in tests: real time plus an offset that `sleep` and `advance` move, so
 * backoff waits are recorded instead of slept while HTTP attempts still run in real time.
 */
export class VirtualClock implements Clock {
  offset = 0;
  readonly sleeps: number[] = [];
  now(): number {
    return Date.now() + this.offset;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.offset += ms;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

export function clientFor(
  sim: RunningSimulator,
  options: Partial<DatabricksClientOptions> & { readonly auth?: AuthProvider } = {},
): { client: DatabricksClient; clock: VirtualClock } {
  const clock = new VirtualClock();
  const client = new DatabricksClient({
    host: sim.url,
    auth: patAuth(sim.token),
    clock,
    random: () => 0.5,
    ...options,
  });
  return { client, clock };
}

/** Runs a promise that must fail and returns its error. */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}
