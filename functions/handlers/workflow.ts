/**
 * Lambda entry of the recovery task function, invoked by every Task state of the recovery state
 * machine with `{ step, state }`. Everything is built once, at cold start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import * as z from '../core/zod.ts';
import { withWorkspaces } from '../databricks/registry.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { snsClient } from '../shared/aws-sns.ts';
import { jsonEnv, optionalEnv, requireEnv } from '../shared/env.ts';
import { FanOutNotifier, type Notifier, SnsNotifier } from '../shared/notify.ts';
import { SlackNotifier } from '../shared/notify-slack.ts';
import { registryWorkspaces } from '../shared/workspace-registry.ts';
import { BreakerRepository } from '../store/breakers.ts';
import { NotificationLedger } from '../store/notifications.ts';
import { recoveryCapOf } from '../store/recovery-cap.ts';
import { RestoreRepository } from '../store/restores.ts';
import { TicketRepository } from '../store/tickets.ts';
import { createWorkflowTaskHandler } from '../workflow/app.ts';

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();

const tableName = requireEnv('TABLE_NAME');
const slackSecretArn = optionalEnv('SLACK_WEBHOOK_SECRET_ARN');
const secrets = tracer.captureAWSv3Client(secretsManager);

const { databricks, sync } = registryWorkspaces({ access: 'act', secrets, logger });
const notifiers: Notifier[] = [
  new SnsNotifier(
    snsClient((client) => tracer.captureAWSv3Client(client)),
    requireEnv('NOTIFICATION_TOPIC_ARN'),
  ),
  ...(slackSecretArn === undefined ? [] : [new SlackNotifier({ secretArn: slackSecretArn, secrets })]),
];

const task = createWorkflowTaskHandler({
  tickets: new TicketRepository({ client: documentClient, tableName }),
  breakers: new BreakerRepository({
    client: documentClient,
    tableName,
    config: jsonEnv('BREAKER_CONFIG', z.record(z.string(), z.number()), {}),
  }),
  restores: new RestoreRepository({ client: documentClient, tableName }),
  databricks: (id) => databricks.get(id),
  notifier: new FanOutNotifier(notifiers),
  notifications: new NotificationLedger({ client: documentClient, tableName }),
  // Close and Escalate give the recovery's slot of the blast-radius cap back.
  cap: recoveryCapOf(documentClient, tableName, optionalEnv('RECOVERY_CAP')),
  clock: Date.now,
  actor: 'workflow',
  logger,
  metrics,
  tracer,
});

// A registry that cannot be read fails the Task, which the state machine retries.
export const handler = withWorkspaces(sync, task);
