/**
 * The Powertools a Lambda entry logs, counts and traces with: one of each per container, built at cold
 * start, and `traced`, which lets the Tracer see an AWS client.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export function lambdaPowertools() {
  const logger = new Logger();
  const metrics = new Metrics();
  const tracer = new Tracer();
  const traced = <C>(client: C): C => tracer.captureAWSv3Client(client);
  return { logger, metrics, tracer, traced };
}
