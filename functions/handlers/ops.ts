/**
 * Lambda entry of the operations API (`/ops/...`, IAM-authorized by API Gateway): wires the handler
 * from the environment. Everything is built once, at cold start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import { loadPlaybooks } from '../core/playbooks.ts';
import { parseWorkspacesConfig, WorkspaceClients } from '../databricks/index.ts';
import { createOpsHandler, iamOperator } from '../ops/app.ts';
import { operationsDeps } from '../ops/wiring.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { stepFunctions } from '../shared/aws-sfn.ts';
import { booleanEnv, jsonEnv, optionalEnv, requireEnv } from '../shared/env.ts';
import { StepFunctionsWorkflowStarter } from '../shared/workflow.ts';
import { BreakerRepository } from '../store/breakers.ts';
import { recoveryCapOf } from '../store/recovery-cap.ts';
import { SilenceRepository } from '../store/silences.ts';
import { TicketRepository } from '../store/tickets.ts';

const logger = new Logger();
const tableName = requireEnv('TABLE_NAME');
const databricks = new WorkspaceClients({
  workspaces: parseWorkspacesConfig(jsonEnv('DATABRICKS_WORKSPACES', z.unknown(), undefined)),
  secrets: secretsManager,
  logger: { warn: (message, attributes) => logger.warn(message, attributes ?? {}) },
});

export const handler = createOpsHandler({
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
      databricks,
      playbooks: loadPlaybooks(jsonEnv('PLAYBOOK_OVERRIDES', z.unknown(), {})),
      logger,
    },
    new StepFunctionsWorkflowStarter(stepFunctions, requireEnv('STATE_MACHINE_ARN')),
    booleanEnv('AUTO_REMEDIATION_ENABLED', true),
  ),
  authorize: iamOperator,
  logger,
});
