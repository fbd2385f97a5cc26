/**
 * Lambda entry of the recovery task function, invoked by every Task state of the recovery state
 * machine with `{ step, state }`. Everything is built once, at cold start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import * as z from '../core/zod.ts';
import { withWorkspaces } from '../databricks/registry.ts';
import { settleProbe } from '../poller/outage.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { sns } from '../shared/aws-sns.ts';
import { jsonEnv, optionalEnv, requireEnv } from '../shared/env.ts';
import { FanOutNotifier, type Notifier, SnsNotifier } from '../shared/notify.ts';
import { SlackNotifier } from '../shared/notify-slack.ts';
import { registryWorkspaces } from '../shared/workspace-registry.ts';
import { BreakerRepository } from '../store/breakers.ts';
import { NotificationLedger } from '../store/notifications.ts';
import { OperationsLog } from '../store/operations-log.ts';
import { OutageRepository } from '../store/outages.ts';
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
  new SnsNotifier(tracer.captureAWSv3Client(sns), requireEnv('NOTIFICATION_TOPIC_ARN')),
  ...(slackSecretArn === undefined ? [] : [new SlackNotifier({ secretArn: slackSecretArn, secrets })]),
];

const tickets = new TicketRepository({ client: documentClient, tableName });
const notifier = new FanOutNotifier(notifiers);
const notifications = new NotificationLedger({ client: documentClient, tableName });
// The end of an outage's probe settles the outage; the released children wait queued for the
// reconciler (this function cannot start executions).
const outageDeps = {
  outages: new OutageRepository({ client: documentClient, tableName }),
  tickets,
  notifier,
  notifications,
  log: new OperationsLog({ client: documentClient, tableName }),
  logger,
  metrics: { count: (name: string, value = 1) => metrics.addMetric(name, MetricUnit.Count, value) },
  actor: 'workflow',
  clock: Date.now,
  graceMs: 0,
};

const task = createWorkflowTaskHandler({
  tickets,
  breakers: new BreakerRepository({
    client: documentClient,
    tableName,
    config: jsonEnv('BREAKER_CONFIG', z.record(z.string(), z.number()), {}),
  }),
  restores: new RestoreRepository({ client: documentClient, tableName }),
  databricks: (id) => databricks.get(id),
  notifier,
  notifications,
  // Close and Escalate give the recovery's slot of the blast-radius cap back.
  cap: recoveryCapOf(documentClient, tableName, optionalEnv('RECOVERY_CAP')),
  outages: { settleProbe: (outageId) => settleProbe(outageId, outageDeps) },
  clock: Date.now,
  actor: 'workflow',
  logger,
  metrics,
  tracer,
});

// A registry that cannot be read fails the Task, which the state machine retries.
export const handler = withWorkspaces(sync, task);
