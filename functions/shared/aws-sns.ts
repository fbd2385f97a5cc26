import type { SNSClient } from '@aws-sdk/client-sns';
import { type LazyClient, lazySdkClient } from './aws.ts';

/**
 * An SNS client of this container (see `aws.ts`), built on its first request: only a notification
 * needs it. `prepare` sees it once built (the Tracer's `captureAWSv3Client`).
 */
export function snsClient(
  prepare: (client: SNSClient) => SNSClient = (client) => client,
): LazyClient<SNSClient> {
  return lazySdkClient(async () => (await import('@aws-sdk/client-sns')).SNSClient, prepare);
}
