/**
 * Lambda entry of the poll workflow's task function (`state-machines/poll.asl.json`, started by the
 * EventBridge schedule every 5 minutes): wires the steps from the environment. Everything is built
 * once, at cold start; the workspaces come from the registry through its cache.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { loadPlaybooks } from '../core/playbooks.ts';
import * as z from '../core/zod.ts';
import { withWorkspaces } from '../databricks/registry.ts';
import { createPollStepHandler } from '../poller/app.ts';
import { resolvePollerOptions } from '../poller/config.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { stepFunctions } from '../shared/aws-sfn.ts';
import { sns } from '../shared/aws-sns.ts';
import { booleanEnv, jsonEnv, optionalEnv, requireEnv } from '../shared/env.ts';
import { SnsNotifier } from '../shared/notify.ts';
import { StepFunctionsWorkflowStarter } from '../shared/workflow.ts';
import { registryWorkspaces } from '../shared/workspace-registry.ts';
import { BreakerRepository } from '../store/breakers.ts';
import { CursorRepository } from '../store/cursors.ts';
import { NotificationLedger } from '../store/notifications.ts';
import { outageCorrelatorOf } from '../store/outages.ts';
import { recoveryCapOf } from '../store/recovery-cap.ts';
import { RestoreRepository } from '../store/restores.ts';
import { SilenceRepository } from '../store/silences.ts';
import { TicketRepository } from '../store/tickets.ts';

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();

const tableName = requireEnv('TABLE_NAME');
const topicArn = optionalEnv('NOTIFICATION_TOPIC_ARN');
const { databricks, sync } = registryWorkspaces({
  access: 'act',
  secrets: tracer.captureAWSv3Client(secretsManager),
  logger,
});

const steps = createPollStepHandler({
  workspaceIds: async () => {
    await sync();
    return databricks.ids();
  },
  databricks: (id) => databricks.get(id),
  periodMs: jsonEnv('POLL_PERIOD_SECONDS', z.number().check(z.int(), z.gte(60), z.lte(3600)), 300) * 1000,
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
  outages: outageCorrelatorOf(documentClient, tableName, optionalEnv('OUTAGE_CORRELATION')),
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

// A registry that cannot be read fails the step, which the state machine retries.
export const handler = withWorkspaces(sync, steps);
