/**
 * Lambda entry of the recovery task function, invoked by every Task state of the recovery state
 * machine with `{ step, state }`: wires the handler from the environment (`shared/wiring.ts`).
 * Everything is built once, at cold start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { withWorkspaces } from '../databricks/registry.ts';
import { settleProbe } from '../poller/outage.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { optionalEnv, requireEnv } from '../shared/env.ts';
import { FanOutNotifier } from '../shared/notify.ts';
import { SlackNotifier } from '../shared/notify-slack.ts';
import { functionConfigFromEnv, functionWiring, topicNotifier } from '../shared/wiring.ts';
import { NotificationLedger } from '../store/notifications.ts';
import { OperationsLog } from '../store/operations-log.ts';
import { RestoreRepository } from '../store/restores.ts';
import { createWorkflowTaskHandler } from '../workflow/app.ts';

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();
const traced = <C>(client: C): C => tracer.captureAWSv3Client(client);

const secrets = traced(secretsManager);
const { table, tickets, breakers, cap, outages, workspaces } = functionWiring({
  documentClient,
  config: functionConfigFromEnv(),
  access: 'act',
  secrets,
  logger,
});
const slackSecretArn = optionalEnv('SLACK_WEBHOOK_SECRET_ARN');
const notifier = new FanOutNotifier([
  topicNotifier(requireEnv('NOTIFICATION_TOPIC_ARN'), traced),
  ...(slackSecretArn === undefined ? [] : [new SlackNotifier({ secretArn: slackSecretArn, secrets })]),
]);
const notifications = new NotificationLedger(table);
// The end of an outage's probe settles the outage; the released children wait queued for the
// reconciler (this function cannot start executions).
const outageDeps = {
  outages,
  tickets,
  notifier,
  notifications,
  log: new OperationsLog(table),
  logger,
  metrics: { count: (name: string, value = 1) => metrics.addMetric(name, MetricUnit.Count, value) },
  actor: 'workflow',
  clock: Date.now,
  graceMs: 0,
};

const task = createWorkflowTaskHandler({
  tickets,
  breakers,
  restores: new RestoreRepository(table),
  databricks: (id) => workspaces.databricks.get(id),
  notifier,
  notifications,
  // Close and Escalate give the recovery's slot of the blast-radius cap back.
  cap,
  outages: { settleProbe: (outageId) => settleProbe(outageId, outageDeps) },
  clock: Date.now,
  actor: 'workflow',
  logger,
  metrics,
  tracer,
});

// A registry that cannot be read fails the Task, which the state machine retries.
export const handler = withWorkspaces(workspaces.sync, task);
