/**
 * Lambda entry of the poller (EventBridge schedule, every 5 minutes): wires the run from the
 * environment. Everything is built once, at cold start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import * as z from 'zod';
import { loadPlaybooks } from '../core/playbooks.ts';
import { parseWorkspacesConfig, WorkspaceClients } from '../databricks/index.ts';
import { createPollerHandler } from '../poller/app.ts';
import { resolvePollerOptions } from '../poller/config.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { stepFunctions } from '../shared/aws-sfn.ts';
import { sns } from '../shared/aws-sns.ts';
import { booleanEnv, jsonEnv, optionalEnv, requireEnv } from '../shared/env.ts';
import { SnsNotifier } from '../shared/notify.ts';
import { StepFunctionsWorkflowStarter } from '../shared/workflow.ts';
import { BreakerRepository } from '../store/breakers.ts';
import { CursorRepository } from '../store/cursors.ts';
import { NotificationLedger } from '../store/notifications.ts';
import { recoveryCapOf } from '../store/recovery-cap.ts';
import { RestoreRepository } from '../store/restores.ts';
import { SilenceRepository } from '../store/silences.ts';
import { TicketRepository } from '../store/tickets.ts';

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();

const tableName = requireEnv('TABLE_NAME');
const topicArn = optionalEnv('NOTIFICATION_TOPIC_ARN');
const workspaces = parseWorkspacesConfig(jsonEnv('DATABRICKS_WORKSPACES', z.unknown(), undefined));
const databricks = new WorkspaceClients({
  workspaces,
  secrets: tracer.captureAWSv3Client(secretsManager),
  logger: { warn: (message, attributes) => logger.warn(message, attributes ?? {}) },
});

export const handler = createPollerHandler({
  workspaceIds: databricks.ids(),
  databricks: (id) => databricks.get(id),
  cursors: new CursorRepository({ client: documentClient, tableName }),
  tickets: new TicketRepository({ client: documentClient, tableName }),
  restores: new RestoreRepository({ client: documentClient, tableName }),
  breakers: new BreakerRepository({
    client: documentClient,
    tableName,
    config: jsonEnv('BREAKER_CONFIG', z.record(z.string(), z.number()), {}),
  }),
  workflow: new StepFunctionsWorkflowStarter(
    tracer.captureAWSv3Client(stepFunctions),
    requireEnv('STATE_MACHINE_ARN'),
  ),
  playbooks: loadPlaybooks(jsonEnv('PLAYBOOK_OVERRIDES', z.unknown(), {})),
  autoRemediationEnabled: booleanEnv('AUTO_REMEDIATION_ENABLED', true),
  silences: new SilenceRepository({ client: documentClient, tableName }),
  cap: recoveryCapOf(documentClient, tableName, optionalEnv('RECOVERY_CAP')),
  // Approvals waiting and timed out are announced on the topic (once each), when the stack names it.
  ...(topicArn === undefined
    ? {}
    : {
        notifier: new SnsNotifier(tracer.captureAWSv3Client(sns), topicArn),
        notifications: new NotificationLedger({ client: documentClient, tableName }),
      }),
  options: resolvePollerOptions(jsonEnv('POLLER_CONFIG', z.unknown(), {})),
  actor: 'poller',
  logger,
  metrics,
  tracer,
});
