/**
 * A Lambda entry that uses Powertools as the functions' entries do — Logger, Metrics and Tracer as
 * middy middleware, an AWS SDK v3 client captured by the Tracer — for `test/infra/bundles.test.ts`,
 * which bundles it with the functions' esbuild options and runs the bundle like Lambda would.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { awsHttpHandler, lazyClient } from '../../functions/shared/aws.ts';

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();
// As functions/shared/aws-sfn.ts builds the Step Functions client.
const dynamo = lazyClient<DynamoDBClient>(async () => {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  return tracer.captureAWSv3Client(new DynamoDBClient({ requestHandler: awsHttpHandler() }));
});

export const handler = middy(async (event: { readonly tableName: string }) => {
  const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
  const key = { pk: { S: 'TRACE#probe' }, sk: { S: 'TRACE#probe' } };
  const { Item } = await dynamo.send(new GetItemCommand({ TableName: event.tableName, Key: key }));
  metrics.addMetric('ItemsRead', MetricUnit.Count, 1);
  logger.info('item read', { found: Item !== undefined });
  return Item === undefined ? 'absent' : 'present';
})
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { clearState: true, logEvent: false }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
