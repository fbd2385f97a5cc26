/**
 * Lambda entry of the operations API (`/ops/...`, IAM-authorized by API Gateway): wires the handler
 * from the environment. Everything is built once, at cold start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadPlaybooks } from '../core/playbooks.ts';
import * as z from '../core/zod.ts';
import { registryUnavailableResponse, withWorkspaces } from '../databricks/registry.ts';
import { WorkspaceClients } from '../databricks/workspaces.ts';
import { createOpsHandler, iamOperator } from '../ops/app.ts';
import { operationsDeps } from '../ops/wiring.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { stepFunctions } from '../shared/aws-sfn.ts';
import { booleanEnv, jsonEnv, optionalEnv, requireEnv } from '../shared/env.ts';
import { StepFunctionsWorkflowStarter } from '../shared/workflow.ts';
import { registryWorkspaces } from '../shared/workspace-registry.ts';
import { BreakerRepository } from '../store/breakers.ts';
import { OperationsLog } from '../store/operations-log.ts';
import { outageCorrelatorOf } from '../store/outages.ts';
import { recoveryCapOf } from '../store/recovery-cap.ts';
import { SilenceRepository } from '../store/silences.ts';
import { TicketRepository } from '../store/tickets.ts';

const logger = new Logger();
const metrics = new Metrics();
const tableName = requireEnv('TABLE_NAME');
const { databricks, registry, directory, sync } = registryWorkspaces({
  access: 'act',
  secrets: secretsManager,
  logger,
});
const readOnlyPrefix = optionalEnv('DATABRICKS_READ_ONLY_SECRET_PREFIX');

const operations = createOpsHandler({
  ...operationsDeps(
    {
      documentClient,
      tableName,
      tickets: new TicketRepository({ client: documentClient, tableName }),
      breakers: new BreakerRepository({
        client: documentClient,
        tableName,
        config: jsonEnv('BREAKER_CONFIG', z.record(z.string(), z.number()), {}),
      }),
      silences: new SilenceRepository({ client: documentClient, tableName }),
      cap: recoveryCapOf(documentClient, tableName, optionalEnv('RECOVERY_CAP')),
      outages: outageCorrelatorOf(documentClient, tableName, optionalEnv('OUTAGE_CORRELATION')),
      metrics: { count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value) },
      databricks,
      playbooks: loadPlaybooks(jsonEnv('PLAYBOOK_OVERRIDES', z.unknown(), {})),
      logger,
    },
    new StepFunctionsWorkflowStarter(stepFunctions, requireEnv('STATE_MACHINE_ARN')),
    booleanEnv('AUTO_REMEDIATION_ENABLED', true),
  ),
  authorize: iamOperator,
  logger,
  metrics,
  workspaces: {
    registry,
    log: new OperationsLog({ client: documentClient, tableName }),
    prefixes: {
      acting: requireEnv('DATABRICKS_SECRET_PREFIX'),
      ...(readOnlyPrefix === undefined ? {} : { readOnly: readOnlyPrefix }),
    },
    // A workspace being added is not in the cache yet: a client of its own, with its acting secret.
    probe: (config) => new WorkspaceClients({ workspaces: [config], secrets: secretsManager }).get(config.id),
    changed: async () => {
      await directory.refresh();
      await sync();
    },
  },
});

export const handler = withWorkspaces(sync, operations, registryUnavailableResponse);
