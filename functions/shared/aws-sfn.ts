import type { SFNClient } from '@aws-sdk/client-sfn';
import { type LazyClient, lazySdkClient } from './aws.ts';

/**
 * A Step Functions client of this container (see `aws.ts`), built on its first request: only starting
 * (or, for the reconciler, reading) a recovery needs it. `prepare` sees it once built (the Tracer's
 * `captureAWSv3Client`).
 */
export function stepFunctionsClient(
  prepare: (client: SFNClient) => SFNClient = (client) => client,
): LazyClient<SFNClient> {
  return lazySdkClient(async () => (await import('@aws-sdk/client-sfn')).SFNClient, prepare);
}
