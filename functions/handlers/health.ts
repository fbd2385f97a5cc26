import { ConfigurationError } from '../core/errors.ts';

/** What the health function answers: enough to tell which build is deployed. */
export interface HealthResponse {
  readonly status: 'ok';
  readonly service: 'databricks-cluster-recovery';
  readonly version: string;
}

// Read once at cold start: a function deployed without its version fails on init, not per call.
const version = process.env.SERVICE_VERSION;
if (version === undefined || version === '') {
  throw new ConfigurationError(
    'SERVICE_VERSION is not set: deploy the function with the RecoveryFunction construct',
  );
}

export const handler = async (): Promise<HealthResponse> => ({
  status: 'ok',
  service: 'databricks-cluster-recovery',
  version,
});
