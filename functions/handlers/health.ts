import { requireEnv } from '../shared/env.ts';

/** What the health function answers: enough to tell which build is deployed. */
export interface HealthResponse {
  readonly status: 'ok';
  readonly service: 'databricks-cluster-recovery';
  readonly version: string;
}

// Read once at cold start: a function deployed without its version fails on init, not per call.
const version = requireEnv('SERVICE_VERSION');

export const handler = async (): Promise<HealthResponse> => ({
  status: 'ok',
  service: 'databricks-cluster-recovery',
  version,
});
