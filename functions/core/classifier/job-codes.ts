/**
 * The reviewed decision for every job run termination code (`status.termination_details.code`,
 * jobs API 2.2: 26 codes in the Go SDK plus the Python SDK's CLUSTER_TERMINATED_BY_USER). Codes that
 * only say "the cluster failed" defer to the cluster's termination reason, or to the message text.
 */
import type { ErrorType } from '../error-types.ts';

export type JobCodeDecision =
  | { readonly failure: false; readonly why: string }
  | {
      readonly failure: true;
      readonly errorType: ErrorType;
      readonly why: string;
      /** The code blames the cluster: look at the cluster, then at the message text, before this type. */
      readonly clusterRelated?: true;
    };

const ok = (why: string): JobCodeDecision => ({ failure: false, why });
const fail = (errorType: ErrorType, why: string, clusterRelated?: true): JobCodeDecision =>
  clusterRelated ? { failure: true, errorType, why, clusterRelated } : { failure: true, errorType, why };

export const JOB_TERMINATION_CODE_TABLE: Readonly<Record<string, JobCodeDecision>> = {
  SUCCESS: ok('the run succeeded'),
  SUCCESS_WITH_FAILURES: ok('the run succeeded with failures, which Databricks counts as success'),
  USER_CANCELED: ok('a user cancelled the run'),
  CANCELED: ok('the run was cancelled'),
  SKIPPED: ok('the run was skipped'),
  DISABLED: ok('the job is disabled'),
  CLUSTER_TERMINATED_BY_USER: ok('a user terminated or restarted the cluster outside the jobs service'),
  INTERNAL_ERROR: fail(
    'DatabricksServiceFault',
    'the jobs service failed; a repair after a delay usually succeeds',
  ),
  DRIVER_ERROR: fail('DatabricksDriverNotResponding', 'the run could not talk to the Spark driver', true),
  CLUSTER_ERROR: fail('DatabricksUnclassifiedFailure', 'the cluster failed; the message says why', true),
  CLOUD_FAILURE: fail('DatabricksClusterTerminated', 'a cloud provider failure ended the run', true),
  INVALID_CLUSTER_REQUEST: fail('DatabricksConfigurationError', 'the cluster request of the job is invalid'),
  CLUSTER_REQUEST_LIMIT_EXCEEDED: fail(
    'DatabricksCloudThrottled',
    'cluster create/start rate limit hit; spread runs out',
  ),
  WORKSPACE_RUN_LIMIT_EXCEEDED: fail(
    'DatabricksCloudThrottled',
    'the workspace hit its concurrent run limit',
  ),
  MAX_JOB_QUEUE_SIZE_EXCEEDED: fail('DatabricksCloudThrottled', 'the job queue is full'),
  MAX_CONCURRENT_RUNS_EXCEEDED: fail('DatabricksJobFailure', 'the job hit its max concurrent runs setting'),
  MAX_SPARK_CONTEXTS_EXCEEDED: fail(
    'DatabricksJobFailure',
    'the cluster has too many execution contexts; restarting a shared cluster would hurt its other users',
  ),
  LIBRARY_INSTALLATION_ERROR: fail(
    'DatabricksLibraryInstallFailure',
    'a library failed to install on the cluster',
  ),
  REPOSITORY_CHECKOUT_FAILED: fail('DatabricksJobFailure', 'the Git repository could not be checked out'),
  FEATURE_DISABLED: fail(
    'DatabricksWorkspaceStateError',
    'a feature the job needs is disabled in the workspace',
  ),
  BUDGET_POLICY_LIMIT_EXCEEDED: fail(
    'DatabricksWorkspaceStateError',
    'a budget policy limit stopped the run',
  ),
  STORAGE_ACCESS_ERROR: fail('DatabricksCloudPermissionError', 'the run could not access cloud storage'),
  UNAUTHORIZED_ERROR: fail('DatabricksCloudPermissionError', 'the run identity lacks a permission'),
  RESOURCE_NOT_FOUND: fail('DatabricksJobFailure', 'a resource the job references does not exist'),
  INVALID_RUN_CONFIGURATION: fail('DatabricksJobFailure', 'the run configuration is invalid'),
  RUN_EXECUTION_ERROR: fail(
    'DatabricksJobFailure',
    'the job code failed (a job failure, not a cluster failure)',
  ),
  BREAKING_CHANGE: fail('DatabricksJobFailure', 'a breaking platform change affected the job'),
};
