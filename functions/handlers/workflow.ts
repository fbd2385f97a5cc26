/**
 * Lambda entry of the recovery task function, invoked by every Task state of the recovery state
 * machine with `{ step, state }`: wires the handler from the environment (`shared/wiring.ts`).
 * Everything is built once, at cold start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { withWorkspaces } from '../databricks/registry.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { optionalEnv, requireEnv } from '../shared/env.ts';
import { FanOutNotifier } from '../shared/notify.ts';
import { SlackNotifier } from '../shared/notify-slack.ts';
import { functionConfigFromEnv, functionWiring, topicNotifier } from '../shared/wiring.ts';
import { NotificationLedger } from '../store/notifications.ts';
import { RestoreRepository } from '../store/restores.ts';
import { createWorkflowTaskHandler } from '../workflow/app.ts';

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();
const traced = <C>(client: C): C => tracer.captureAWSv3Client(client);

const secrets = traced(secretsManager);
const { table, tickets, breakers, cap, workspaces } = functionWiring({
  documentClient,
  config: functionConfigFromEnv(),
  access: 'act',
  secrets,
  logger,
});
const slackSecretArn = optionalEnv('SLACK_WEBHOOK_SECRET_ARN');

const task = createWorkflowTaskHandler({
  tickets,
  breakers,
  restores: new RestoreRepository(table),
  databricks: (id) => workspaces.databricks.get(id),
  notifier: new FanOutNotifier([
    topicNotifier(requireEnv('NOTIFICATION_TOPIC_ARN'), traced),
    ...(slackSecretArn === undefined ? [] : [new SlackNotifier({ secretArn: slackSecretArn, secrets })]),
  ]),
  notifications: new NotificationLedger(table),
  // Close and Escalate give the recovery's slot of the blast-radius cap back.
  cap,
  clock: Date.now,
  actor: 'workflow',
  logger,
  metrics,
  tracer,
});

// A registry that cannot be read fails the Task, which the state machine retries.
export const handler = withWorkspaces(workspaces.sync, task);
