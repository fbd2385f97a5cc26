#!/usr/bin/env node
/**
 * `npm start`: the system running locally on embedded defaults — DynamoDB Local, the Databricks
 * simulator with its demo scenario and the intake API on http://localhost:8000.
 *
 * Environment: PORT (8000), RCA_API_KEY (generated when unset), RCA_OPERATOR_KEY (the operations
 * API's key, generated when unset), AUTO_REMEDIATION_ENABLED (true),
 * DEMO_TIME_SCALE (60: simulated ms per real ms), PLAYBOOKS_FILE (JSON overrides),
 * DATABRICKS_HOST + DATABRICKS_TOKEN (a real workspace instead of the simulator).
 */
import { readFileSync } from 'node:fs';
import { ConfigurationError } from '../functions/core/errors.ts';
import { booleanEnv, optionalEnv } from '../functions/shared/env.ts';
import { LOCAL_BASIC_USERNAME, startLocalHost } from '../lib/local/host.ts';
import { describePoller } from '../lib/local/poller-loop.ts';

// Locally, EMF metric lines would only clutter the console.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

function numberEnv(name: string, fallback: number, min: number): number {
  const raw = optionalEnv(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min)
    throw new ConfigurationError(`${name} must be a number >= ${min}, not '${raw}'`);
  return value;
}

async function main(): Promise<void> {
  const port = numberEnv('PORT', 8000, 0);
  const apiKey = optionalEnv('RCA_API_KEY');
  const operatorKey = optionalEnv('RCA_OPERATOR_KEY');
  const databricksHost = optionalEnv('DATABRICKS_HOST');
  const databricksToken = optionalEnv('DATABRICKS_TOKEN');
  if ((databricksHost === undefined) !== (databricksToken === undefined)) {
    throw new ConfigurationError(
      'set both DATABRICKS_HOST and DATABRICKS_TOKEN to use a real workspace, or neither',
    );
  }
  const playbooksFile = optionalEnv('PLAYBOOKS_FILE');
  const host = await startLocalHost({
    port,
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(operatorKey === undefined ? {} : { operatorKey }),
    autoRemediationEnabled: booleanEnv('AUTO_REMEDIATION_ENABLED', true),
    timeScale: numberEnv('DEMO_TIME_SCALE', 60, 0),
    ...(databricksHost !== undefined && databricksToken !== undefined
      ? { databricks: { host: databricksHost, token: databricksToken } }
      : {}),
    ...(playbooksFile === undefined
      ? {}
      : { playbookOverrides: JSON.parse(readFileSync(playbooksFile, 'utf8')) }),
  });

  const keyLine = host.apiKeyGenerated
    ? `  API key:    ${host.apiKey}   (generated for this run; set RCA_API_KEY to choose one)`
    : '  API key:    from RCA_API_KEY';
  const exportLine = host.apiKeyGenerated
    ? `In another shell:  export RCA_API_KEY='${host.apiKey}'`
    : 'In another shell, export the same RCA_API_KEY.';
  process.stdout.write(
    [
      '',
      `Databricks cluster recovery is running locally on ${host.url}`,
      `  webhook:    POST ${host.url}/databricks-monitor`,
      keyLine,
      `  Basic auth: username ${LOCAL_BASIC_USERNAME}, password the API key`,
      `  operations: ${host.url}/ops/...   (rca tickets|ticket|retry|breakers|breaker|silence|report|doctor --url ${host.url} --key <operator key>)`,
      operatorKey === undefined
        ? `  operator key: ${host.operatorKey}   (the operations API only; the webhook key is refused there; set RCA_OPERATOR_KEY to choose one)`
        : '  operator key: from RCA_OPERATOR_KEY',
      host.simulator === undefined
        ? `  Databricks: ${databricksHost}`
        : `  Databricks: simulator on ${host.simulator.url} (demo scenario, token ${host.simulator.token})`,
      `  DynamoDB:   DynamoDB Local on ${host.dynamoDb.endpoint}`,
      `  poller:     ${describePoller(host.poller)}`,
      '',
      exportLine,
      "Then try the seed's Test 1:",
      `  curl -s -X POST ${host.url}/databricks-monitor -H "x-api-key: $RCA_API_KEY" -H "Content-Type: application/json" \\`,
      '    -d @test/fixtures/seed/test1-driver-unreachable.json',
      '',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await host.close();
  process.stdout.write('Stopped.\n');
}

main().catch((error: unknown) => {
  const code = (error as { code?: unknown }).code;
  const message =
    error instanceof ConfigurationError
      ? error.message
      : code === 'EADDRINUSE'
        ? `port ${optionalEnv('PORT') ?? 8000} is already in use; stop what listens there or choose another with PORT=<n> npm start`
        : ((error as Error).stack ?? String(error));
  process.stderr.write(`npm start: ${message}\n`);
  process.exitCode = 1;
});
