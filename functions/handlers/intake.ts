/**
 * Lambda entry of the intake (`POST /databricks-monitor`): wires the handler from the environment
 * (`shared/wiring.ts`). Everything is built once, at cold start.
 */

import { registryUnavailableResponse, withWorkspaces } from '../databricks/registry.ts';
import { createIntakeHandler } from '../intake/app.ts';
import { parseApiKeys } from '../intake/auth.ts';
import { workspaceDeps } from '../intake/webhook.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { requireEnv } from '../shared/env.ts';
import { lambdaPowertools } from '../shared/powertools.ts';
import { cachedSecretText } from '../shared/secret-cache.ts';
import {
  functionConfigFromEnv,
  functionWiring,
  incidentPolicyFromEnv,
  recoveryStarter,
} from '../shared/wiring.ts';
import { SilenceRepository } from '../store/silences.ts';

const { logger, metrics, tracer, traced } = lambdaPowertools();

// The intake reads with each workspace's read-only credential where one is registered.
const { table, tickets, breakers, cap, outages, workspaces } = functionWiring({
  documentClient,
  config: functionConfigFromEnv(),
  access: 'read',
  secrets: secretsManager,
  logger,
});
const keysSecretArn = requireEnv('INTAKE_SECRET_ARN');
const policy = incidentPolicyFromEnv();
// The intake's keys, read again at most once a minute: a rotated key is accepted within a minute.
const intakeKeys = cachedSecretText({
  secrets: traced(secretsManager),
  secretId: keysSecretArn,
  maxAgeMs: 60_000,
});

const intake = createIntakeHandler({
  loadKeys: async () => parseApiKeys(await intakeKeys()),
  tickets,
  silences: new SilenceRepository(table),
  cap,
  outages,
  breakers,
  workflow: recoveryStarter(requireEnv('STATE_MACHINE_ARN'), traced),
  ...policy,
  ...workspaceDeps(workspaces.databricks),
  clock: Date.now,
  actor: 'intake',
  logger,
  metrics,
  tracer,
});

export const handler = withWorkspaces(workspaces.sync, intake, registryUnavailableResponse);
