/**
 * Lambda entry of the recovery task function, invoked by every Task state of the recovery state
 * machine with `{ step, state }`: wires the handler from the environment (`shared/wiring.ts`).
 * Everything is built once, at cold start.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { withWorkspaces } from '../databricks/registry.ts';
import { DEFAULT_POLLER_OPTIONS } from '../poller/defaults.ts';
import { drainOnSlotFreed } from '../poller/fleet.ts';
import { settleProbe } from '../poller/outage.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { optionalEnv, requireEnv } from '../shared/env.ts';
import { FanOutNotifier } from '../shared/notify.ts';
import { SlackNotifier } from '../shared/notify-slack.ts';
import { lambdaPowertools } from '../shared/powertools.ts';
import {
  freedSlotStartDeps,
  functionConfigFromEnv,
  incidentPolicyFromEnv,
  recoveryStarter,
  sharedWiring,
  topicNotifier,
} from '../shared/wiring.ts';
import { NotificationLedger } from '../store/notifications.ts';
import { OperationsLog } from '../store/operations-log.ts';
import { RestoreRepository } from '../store/restores.ts';
import { SilenceReader } from '../store/silences.ts';
import { TicketLifecycle } from '../store/tickets.ts';
import { createWorkflowTaskHandler } from '../workflow/app.ts';

const { logger, metrics, tracer, traced } = lambdaPowertools();

const secrets = traced(secretsManager);
const { table, breakers, cap, outages, workspaces } = sharedWiring({
  documentClient,
  config: functionConfigFromEnv(),
  access: 'act',
  secrets,
  logger,
});
// The workflow opens no ticket: it reads, moves and audits them.
const tickets = new TicketLifecycle(table);
const slackSecretArn = optionalEnv('SLACK_WEBHOOK_SECRET_ARN');
const notifier = new FanOutNotifier([
  topicNotifier(requireEnv('NOTIFICATION_TOPIC_ARN'), traced),
  ...(slackSecretArn === undefined ? [] : [new SlackNotifier({ secretArn: slackSecretArn, secrets })]),
]);
const notifications = new NotificationLedger(table);
const count = (name: string, value = 1) => metrics.addMetric(name, MetricUnit.Count, value);
// A slot that Close or Escalate gave back starts the workspace's oldest queued recoveries at once, on
// the state machine the task event names (the reconciler's start path: remediation switch, silences,
// playbook, breakers, the workflow).
const onSlotFreed = drainOnSlotFreed(
  freedSlotStartDeps(
    { tickets, breakers, cap, outages, silences: new SilenceReader(table) },
    {
      ...incidentPolicyFromEnv(),
      logger,
      actor: 'workflow',
      options: DEFAULT_POLLER_OPTIONS,
      metrics: { count },
    },
    (stateMachineArn) => recoveryStarter(stateMachineArn, traced),
  ),
);
// The end of an outage's probe settles the outage; the children it releases go to the queue, which
// the probe's freed slot then drains (the reconciler otherwise).
const outageDeps = {
  outages,
  tickets,
  notifier,
  notifications,
  log: new OperationsLog(table),
  logger,
  metrics: { count },
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
  // Close and Escalate give the recovery's slot of the blast-radius cap back, and start the next.
  cap,
  onSlotFreed,
  outages: { settleProbe: (outageId) => settleProbe(outageId, outageDeps) },
  clock: Date.now,
  actor: 'workflow',
  logger,
  metrics,
  tracer,
});

// A registry that cannot be read fails the Task, which the state machine retries.
export const handler = withWorkspaces(workspaces.sync, task);
