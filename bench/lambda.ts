/**
 * Warm Lambda containers for the benchmarks: processes that load a bundled handler once
 * (bench/lambda-container.cjs) with the Node.js flags Lambda's runtime gives a function of that
 * memory size, and run the invocations they are handed one at a time, each answered with its
 * peak RSS.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './support.ts';

/**
 * The V8 heap flags Lambda's Node.js runtime bootstrap passes for `memoryMb` (its `MEMORY_ARGS`):
 * a tenth of the memory for the young generation (half of it per semi-space), the rest for the old
 * one; and `--expose-gc`. A container measured without them lets V8 size its heap for a machine, not
 * for the function.
 */
export function lambdaNodeFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [
    '--expose-gc',
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
}

/** What a container reports with each answer. */
export interface InvocationMemory {
  /** Peak RSS during this invocation (kB): the high-water mark, reset when it started. */
  readonly peakKb: number;
  /** False where the high-water mark cannot be reset: `peakKb` is then the container's peak so far. */
  readonly resettable: boolean;
  /** Peak RSS of the container over its life so far (kB), its loading included. */
  readonly containerPeakKb: number;
  /** RSS once the bundle was loaded, before any invocation (kB). */
  readonly loadedKb: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  /** Invocations this container has run, this one included. */
  readonly invocations: number;
}

export interface Invocation {
  readonly output?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
  readonly memory: InvocationMemory;
}

export interface ContainerPool {
  /** Runs `event` in the next idle container (waiting for one), with `timeoutMs` as its budget. */
  invoke(event: unknown, timeoutMs: number): Promise<Invocation>;
  stop(): void;
}

/**
 * `size` warm containers of `bundle`, started (and the bundle loaded) before the first invocation, as
 * Lambda keeps them. `env` is the function's environment; stdout (the function's logs) is discarded.
 */
export async function startContainers(
  bundle: string,
  size: number,
  memoryMb: number,
  env: NodeJS.ProcessEnv,
): Promise<ContainerPool> {
  const containers: ChildProcess[] = [];
  /** The tail of each container's stderr (the function's warnings and errors), shown if it dies. */
  const stderr = new Map<ChildProcess, string>();
  const died = (container: ChildProcess, code: number | null) =>
    new Error(`a container exited (${code}):\n${stderr.get(container) ?? ''}`);
  const stop = () => {
    for (const container of containers) container.kill();
  };
  try {
    for (let i = 0; i < size; i++) {
      const container = fork(join(ROOT, 'bench/lambda-container.cjs'), [bundle], {
        execArgv: lambdaNodeFlags(memoryMb),
        env: { ...env, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb) },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      container.stderr?.on('data', (chunk: Buffer) => {
        if (process.env.BENCH_LOGS === '1') process.stderr.write(chunk);
        stderr.set(container, ((stderr.get(container) ?? '') + chunk.toString('utf8')).slice(-4000));
      });
      containers.push(container);
      await new Promise((resolve, reject) => {
        container.once('message', resolve);
        container.once('exit', (code) => reject(died(container, code)));
      });
      container.removeAllListeners('exit');
    }
  } catch (error) {
    stop();
    throw error;
  }
  const idle = [...containers];
  const waiting: ((container: ChildProcess) => void)[] = [];
  let nextId = 0;
  const take = () =>
    new Promise<ChildProcess>((resolve) => {
      const container = idle.pop();
      if (container !== undefined) resolve(container);
      else waiting.push(resolve);
    });
  const give = (container: ChildProcess) => {
    const next = waiting.shift();
    if (next !== undefined) next(container);
    else idle.push(container);
  };
  return {
    async invoke(event, timeoutMs) {
      const container = await take();
      const id = nextId++;
      try {
        return await new Promise<Invocation>((resolve, reject) => {
          const onExit = (code: number | null) => reject(died(container, code));
          const listener = (message: Invocation & { id: number }) => {
            if (message.id !== id) return;
            container.off('message', listener);
            container.off('exit', onExit);
            resolve(message);
          };
          container.on('message', listener);
          container.once('exit', onExit);
          container.send({ id, event, timeoutMs });
        });
      } finally {
        give(container);
      }
    },
    stop,
  };
}
