import type { SFNClient } from '@aws-sdk/client-sfn';
import { awsHttpHandler, type LazyClient, lazyClient } from './aws.ts';

/**
 * A Step Functions client of this container (see `aws.ts`), built on its first request: only starting
 * (or, for the reconciler, reading) a recovery needs it. `prepare` sees it once built (the Tracer's
 * `captureAWSv3Client`).
 */
export function stepFunctionsClient(
  prepare: (client: SFNClient) => SFNClient = (client) => client,
): LazyClient<SFNClient> {
  return lazyClient(async () => {
    const { SFNClient } = await import('@aws-sdk/client-sfn');
    return prepare(new SFNClient({ requestHandler: awsHttpHandler() }));
  });
}
