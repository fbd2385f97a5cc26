/**
 * Lambda entry of the operations API (`/ops/...`, IAM-authorized by API Gateway): wires the handler
 * from the environment (`shared/wiring.ts`). Everything is built once, at cold start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { registryUnavailableResponse, withWorkspaces } from '../databricks/registry.ts';
import { createOpsHandler, iamOperator } from '../ops/app.ts';
import { DEFAULT_POLLER_OPTIONS } from '../poller/config.ts';
import { documentClient } from '../shared/aws-dynamodb.ts';
import { secretsManager } from '../shared/aws-secrets.ts';
import { optionalEnv, requireEnv } from '../shared/env.ts';
import {
  functionConfigFromEnv,
  functionWiring,
  incidentPolicyFromEnv,
  operationsDeps,
  recoveryStarter,
} from '../shared/wiring.ts';

const logger = new Logger();
const metrics = new Metrics();
const wiring = functionWiring({
  documentClient,
  config: functionConfigFromEnv(),
  access: 'act',
  secrets: secretsManager,
  logger,
});
const readOnlyPrefix = optionalEnv('DATABRICKS_READ_ONLY_SECRET_PREFIX');

const operations = createOpsHandler({
  ...operationsDeps(wiring, {
    ...incidentPolicyFromEnv(),
    workflow: recoveryStarter(requireEnv('STATE_MACHINE_ARN')),
    options: DEFAULT_POLLER_OPTIONS,
    // ApprovalsGranted, ApprovalsDenied, and what a start or an outage's release counts.
    metrics: { count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value) },
    logger,
    secrets: secretsManager,
    prefixes: {
      acting: requireEnv('DATABRICKS_SECRET_PREFIX'),
      ...(readOnlyPrefix === undefined ? {} : { readOnly: readOnlyPrefix }),
    },
  }),
  authorize: iamOperator,
  logger,
  metrics,
});

export const handler = withWorkspaces(wiring.workspaces.sync, operations, registryUnavailableResponse);
