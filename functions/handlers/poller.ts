/**
 * Lambda entry of the poll workflow's task function (`state-machines/poll.asl.json`, started by the
 * EventBridge schedule every 5 minutes): wires the steps from the environment (`shared/wiring.ts`).
 * Everything is built once, at cold start; the workspaces come from the registry through its cache.
 */
import * as z from '../core/zod.ts';
import { withWorkspaces } from '../databricks/registry.ts';
import { createPollStepHandler } from '../poller/app.ts';
import { resolvePollerOptions } from '../poller/config.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { jsonEnv, optionalEnv, requireEnv } from '../shared/env.ts';
import { lambdaPowertools } from '../shared/powertools.ts';
import {
  functionConfigFromEnv,
  functionWiring,
  incidentPolicyFromEnv,
  recoveryStarter,
  topicNotifier,
} from '../shared/wiring.ts';
import { CursorRepository } from '../store/cursors.ts';
import { NotificationLedger } from '../store/notifications.ts';
import { RestoreRepository } from '../store/restores.ts';
import { SilenceRepository } from '../store/silences.ts';

const { logger, metrics, tracer, traced } = lambdaPowertools();

const { table, tickets, breakers, cap, outages, workspaces } = functionWiring({
  documentClient,
  config: functionConfigFromEnv(),
  access: 'act',
  secrets: traced(secretsManager),
  logger,
});
const topicArn = optionalEnv('NOTIFICATION_TOPIC_ARN');

const steps = createPollStepHandler({
  workspaceIds: async () => {
    await workspaces.sync();
    return workspaces.databricks.ids();
  },
  databricks: (id) => workspaces.databricks.get(id),
  periodMs: jsonEnv('POLL_PERIOD_SECONDS', z.number().check(z.int(), z.gte(60), z.lte(3600)), 300) * 1000,
  cursors: new CursorRepository(table),
  tickets,
  restores: new RestoreRepository(table),
  breakers,
  workflow: recoveryStarter(requireEnv('STATE_MACHINE_ARN'), traced),
  ...incidentPolicyFromEnv(),
  silences: new SilenceRepository(table),
  cap,
  outages,
  // Approvals waiting and timed out are announced on the topic (once each), when the stack names it.
  ...(topicArn === undefined
    ? {}
    : { notifier: topicNotifier(topicArn, traced), notifications: new NotificationLedger(table) }),
  options: resolvePollerOptions(jsonEnv('POLLER_CONFIG', z.unknown(), {})),
  actor: 'poller',
  logger,
  metrics,
  tracer,
});

// A registry that cannot be read fails the step, which the state machine retries.
export const handler = withWorkspaces(workspaces.sync, steps);
