/**
 * What the benchmarks share: the simulator in a child process (so that the memory measured is the
 * poller's, not the simulator's clusters) and the benchmark workspace, a few of whose clusters fail.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const FAILED = [
  '0302-bench-fail0001',
  '0302-bench-fail0002',
  '0302-bench-fail0003',
  '0302-bench-fail0004',
];
export const CRASHED = ['0302-bench-crash001', '0302-bench-crash002'];
const HOUR = 3_600_000;

export interface Simulator {
  readonly url: string;
  admin(method: string, path: string, body?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * The simulator CLI in a child process, with a token made for this run: on a manual clock (time scale
 * 0), or at `timeScale` simulated ms per real ms.
 */
export async function startSimulatorProcess(
  scenarioPath: string,
  token: string,
  timeScale = 0,
): Promise<Simulator> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/rca.ts'),
      'simulator',
      '--port',
      '0',
      '--time-scale',
      String(timeScale),
      '--scenario',
      scenarioPath,
      '--token',
      token,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the simulator exited (${code}) before listening`)));
  });
  return {
    url,
    async admin(method, path, body) {
      const res = await fetch(`${url}/__admin/${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!res.ok) throw new Error(`${method} /__admin/${path}: ${res.status} ${await res.text()}`);
      return res.json();
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export function scenario(now: number, total: number): unknown {
  const explicit = FAILED.length + CRASHED.length + 2;
  return {
    description: `Benchmark: ${total} clusters, ${FAILED.length} failures, ${CRASHED.length} driver crashes, one stuck start`,
    seed: 42,
    // Starts take six hours so that the PENDING cluster stays pending.
    timings: { startMs: 6 * HOUR },
    clusters: [
      ...[...FAILED, ...CRASHED].map((cluster_id) => ({ cluster_id, state: 'RUNNING', num_workers: 2 })),
      { cluster_id: '0302-bench-stuck001', state: 'PENDING', start_time: now - HOUR },
      {
        cluster_id: '0302-bench-jobclus1',
        cluster_name: 'job-778899-run-4242',
        cluster_source: 'JOB',
        state: 'TERMINATED',
        terminated_time: now - 20 * 60_000,
        termination_reason: { code: 'DRIVER_UNREACHABLE', type: 'SERVICE_FAULT' },
      },
    ],
    generate: {
      count: total - explicit,
      namePrefix: 'etl',
      states: { RUNNING: 6, TERMINATED: 3 },
      sources: { UI: 4, API: 2, JOB: 3, SQL: 1 },
      nodeTypeIds: ['i3.xlarge', 'm5d.2xlarge', 'r5d.4xlarge'],
      terminationReasons: [
        { code: 'INACTIVITY', type: 'SUCCESS', parameters: { inactivity_duration_min: '120' } },
        { code: 'USER_REQUEST', type: 'SUCCESS', parameters: { username: 'ana@example.com' } },
        { code: 'JOB_FINISHED', type: 'SUCCESS' },
      ],
    },
  };
}
