/** What both benchmarks share: the simulator in a child process, so its work is not measured. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface Simulator {
  readonly url: string;
  admin(method: string, path: string, body?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/** The simulator CLI in a child process, on a manual clock, with a token made for this run. */
export async function startSimulatorProcess(scenarioPath: string, token: string): Promise<Simulator> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/rca.ts'),
      'simulator',
      '--port',
      '0',
      '--time-scale',
      '0',
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
