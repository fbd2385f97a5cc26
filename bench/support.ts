/**
 * What the benchmarks share: the simulator in a child process (so that the memory measured is the
 * poller's, not the simulator's clusters) and the benchmark workspace, a few of whose clusters fail.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { type SecretsReader, WorkspaceClients } from '../functions/databricks/index.ts';

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

/** The simulator of a benchmark, with the token it accepts. */
export interface BenchSimulator extends Simulator {
  readonly token: string;
}

/**
 * `startSimulatorProcess` over `scenarioJson` (written to a temporary file that `stop` removes),
 * with a token made for this run.
 */
export async function startBenchSimulator(
  name: string,
  scenarioJson: unknown,
  timeScale = 0,
): Promise<BenchSimulator> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const token = `dapi${randomBytes(16).toString('hex')}`;
  const scenarioPath = join(dir, 'scenario.json');
  writeFileSync(scenarioPath, JSON.stringify(scenarioJson));
  const sim = await startSimulatorProcess(scenarioPath, token, timeScale).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    ...sim,
    token,
    async stop() {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A client of DynamoDB Local, which accepts any credentials: these are not secrets. */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** Clients of the benchmark workspace `bench` on `sim`, its token read as from Secrets Manager. */
export function benchWorkspaceClients(sim: BenchSimulator): WorkspaceClients {
  const secrets: SecretsReader = {
    send: (async (_command: GetSecretValueCommand) => ({
      SecretString: JSON.stringify({ token: sim.token }),
    })) as unknown as SecretsReader['send'],
  };
  return new WorkspaceClients({
    workspaces: [{ id: 'bench', host: sim.url, credentialsSecretArn: 'local/bench' }],
    secrets,
  });
}

/** The benchmark workspace's failures: the FAILED clusters terminate, the CRASHED ones lose their driver. */
export async function injectFailures(sim: Simulator): Promise<void> {
  for (const id of FAILED) {
    await sim.admin('POST', `clusters/${id}/fail`, {
      code: 'CLOUD_PROVIDER_SHUTDOWN',
      type: 'CLOUD_FAILURE',
    });
  }
  for (const id of CRASHED) await sim.admin('POST', `clusters/${id}/crash-driver`);
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
