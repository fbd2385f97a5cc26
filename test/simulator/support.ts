import { readFileSync } from 'node:fs';
import { parseJson } from '../../functions/core/json.ts';
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '../../lib/simulator/server.ts';

/** A fixed simulated start (2026-01-15 12:00 UTC) so that generated ids and times are reproducible. */
export const SIM_START = Date.UTC(2026, 0, 15, 12, 0, 0);

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/simulator/${name}`, import.meta.url), 'utf8'));
}

/** A simulator on an ephemeral port with a manual clock (time moves only with `admin.advance`). */
export function startTestSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  return startSimulator({ timeScale: 0, startTime: SIM_START, ...options });
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are inspected field by field
  readonly body: any;
}

/** One raw HTTP call with the simulator's token; bodies parsed without losing int64 precision. */
export async function call(
  sim: RunningSimulator,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  token: string | null = sim.token,
): Promise<HttpAnswer> {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : parseJson(text),
  };
}

export const admin = (
  sim: RunningSimulator,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
) => call(sim, method, `/__admin/${path}`, body, sim.adminToken);
