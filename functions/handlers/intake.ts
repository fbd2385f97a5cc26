/**
 * Lambda entry of the intake (`POST /databricks-monitor`): wires the handler
 * from the environment. Everything is built once, at cold start.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { loadPlaybooks } from '../core/playbooks.ts';
import * as z from '../core/zod.ts';
import { registryUnavailableResponse, withWorkspaces } from '../databricks/registry.ts';
import { createIntakeHandler } from '../intake/app.ts';
import { parseApiKeys } from '../intake/auth.ts';
import { workspaceDeps } from '../intake/service.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { stepFunctions } from '../shared/aws-sfn.ts';
import { booleanEnv, jsonEnv, optionalEnv, requireEnv } from '../shared/env.ts';
import { StepFunctionsWorkflowStarter } from '../shared/workflow.ts';
import { registryWorkspaces } from '../shared/workspace-registry.ts';
import { BreakerRepository } from '../store/breakers.ts';
import { outageCorrelatorOf } from '../store/outages.ts';
import { recoveryCapOf } from '../store/recovery-cap.ts';
import { SilenceRepository } from '../store/silences.ts';
import { TicketRepository } from '../store/tickets.ts';

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();

const tableName = requireEnv('TABLE_NAME');
const keysSecretArn = requireEnv('INTAKE_SECRET_ARN');
const playbooks = loadPlaybooks(jsonEnv('PLAYBOOK_OVERRIDES', z.unknown(), {}));
const breakerConfig = jsonEnv('BREAKER_CONFIG', z.record(z.string(), z.number()), {});

const secretsProvider = new SecretsProvider({ awsSdkV3Client: tracer.captureAWSv3Client(secretsManager) });
const tickets = new TicketRepository({ client: documentClient, tableName });
// The intake reads with each workspace's read-only credential where one is registered.
const { databricks, sync } = registryWorkspaces({ access: 'read', secrets: secretsManager, logger });

const intake = createIntakeHandler({
  loadKeys: async () => parseApiKeys(secretText(await secretsProvider.get(keysSecretArn, { maxAge: 60 }))),
  tickets,
  silences: new SilenceRepository({ client: documentClient, tableName }),
  cap: recoveryCapOf(documentClient, tableName, optionalEnv('RECOVERY_CAP')),
  outages: outageCorrelatorOf(documentClient, tableName, optionalEnv('OUTAGE_CORRELATION')),
  breakers: new BreakerRepository({ client: documentClient, tableName, config: breakerConfig }),
  workflow: new StepFunctionsWorkflowStarter(
    tracer.captureAWSv3Client(stepFunctions),
    requireEnv('STATE_MACHINE_ARN'),
  ),
  playbooks,
  autoRemediationEnabled: booleanEnv('AUTO_REMEDIATION_ENABLED', true),
  ...workspaceDeps(databricks),
  clock: Date.now,
  actor: 'intake',
  logger,
  metrics,
  tracer,
});

export const handler = withWorkspaces(sync, intake, registryUnavailableResponse);

function secretText(value: string | Uint8Array | undefined): string | undefined {
  return value === undefined || typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
}
