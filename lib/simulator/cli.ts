/**
 * `rca simulator [--port N] [--token T] [--scenario FILE] [--time-scale X]`: runs the Databricks
 * workspace simulator until SIGINT/SIGTERM.
 */
import { parseCommandArgs } from '../cli/args.ts';
import type { CliIo, Command } from '../cli/main.ts';
import { DEMO_SCENARIO_PATH, loadScenarioFile, ScenarioError } from './scenario.ts';
import { startSimulator } from './server.ts';

export const DEFAULT_PORT = 4100;

const USAGE = `Usage: rca simulator [--port N] [--token T] [--admin-token T] [--scenario FILE] [--time-scale X] [--seed N]

  --port N          port on 127.0.0.1 (default ${DEFAULT_PORT}; 0 = any free port)
  --token T         personal access token to accept (default: a random one, printed)
  --admin-token T   token of the /__admin/ endpoint (default: the same as --token)
  --scenario FILE   scenario JSON (default: the demo scenario)
  --time-scale X    simulated seconds per real second (default 1; e.g. 60 makes a 3-minute start take 3 s)
  --seed N          seed of generated clusters and fault shares
`;

/**
 * The command body, with the stop signal injected so that tests can end it; returns the exit code.
 */
export async function runSimulatorCli(
  args: readonly string[],
  io: CliIo,
  stopped: Promise<unknown>,
): Promise<number> {
  const parsed = parseCommandArgs(
    'simulator',
    args,
    {
      port: { type: 'string' },
      token: { type: 'string' },
      'admin-token': { type: 'string' },
      scenario: { type: 'string' },
      'time-scale': { type: 'string' },
      seed: { type: 'string' },
    },
    USAGE,
    io,
  );
  if (parsed.exit !== undefined) return parsed.exit;
  const { values } = parsed;
  const port = integerOption(values.port, 'port', 0, 65_535, io) ?? DEFAULT_PORT;
  const seed = integerOption(values.seed, 'seed', 0, 2 ** 31, io);
  const timeScale = values['time-scale'] === undefined ? 1 : Number(values['time-scale']);
  if (Number.isNaN(port) || Number.isNaN(seed) || !Number.isFinite(timeScale) || timeScale < 0) {
    if (!Number.isFinite(timeScale) || timeScale < 0)
      io.stderr.write('rca simulator: --time-scale must be a number >= 0\n');
    return 2;
  }
  const scenarioPath = typeof values.scenario === 'string' ? values.scenario : DEMO_SCENARIO_PATH;
  let simulator: Awaited<ReturnType<typeof startSimulator>>;
  try {
    const scenario = await loadScenarioFile(scenarioPath);
    simulator = await startSimulator({
      port,
      scenario,
      timeScale,
      ...(typeof values.token === 'string' ? { token: values.token } : {}),
      ...(typeof values['admin-token'] === 'string' ? { adminToken: values['admin-token'] } : {}),
      ...(seed === undefined ? {} : { seed }),
    });
  } catch (error) {
    const reason =
      error instanceof ScenarioError ? error.message : `cannot start: ${(error as Error).message}`;
    io.stderr.write(`rca simulator: ${reason}\n`);
    return 1;
  }
  const state = simulator.admin.state() as { clusters: { total: number } };
  const [oauth] = simulator.oauthClients;
  // These are throwaway credentials generated for this local process, printed so they can be used.
  io.stdout.write(
    [
      `Databricks simulator listening on ${simulator.url}`,
      `  scenario:   ${scenarioPath} (${state.clusters.total} clusters)`,
      `  time scale: ${timeScale}${timeScale === 0 ? ' (manual clock: POST /__admin/clock {"advanceMs": …})' : ''}`,
      `  token:      ${simulator.token}`,
      ...(oauth ? [`  oauth m2m:  client_id=${oauth.clientId} client_secret=${oauth.clientSecret}`] : []),
      `  try: curl -H "Authorization: Bearer ${simulator.token}" ${simulator.url}/api/2.1/clusters/list`,
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  await stopped;
  await simulator.close();
  io.stdout.write('Databricks simulator stopped.\n');
  return 0;
}

function integerOption(
  value: string | boolean | undefined,
  name: string,
  min: number,
  max: number,
  io: CliIo,
): number | undefined {
  if (typeof value !== 'string') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    io.stderr.write(`rca simulator: --${name} must be an integer from ${min} to ${max}\n`);
    return Number.NaN;
  }
  return n;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export const simulatorCommand: Command = (args, io) => runSimulatorCli(args, io, untilSignal());
