/**
 * The error types a failure is classified into. The first seven are the seed's names (its contract);
 * the rest are the ones the real termination codes need. Each type has one playbook.
 */
export const ERROR_TYPES = [
  // The seed's types.
  'DatabricksDriverNotResponding',
  'DatabricksClusterTerminated',
  'DatabricksClusterStartFailure',
  'DatabricksResourceExhausted',
  'DatabricksConfigurationError',
  // Added for the real codes.
  'DatabricksSpotInstanceLost',
  'DatabricksDriverOutOfMemory',
  'DatabricksOutOfDisk',
  'DatabricksCloudQuotaExceeded',
  'DatabricksCloudThrottled',
  'DatabricksInitScriptFailure',
  'DatabricksLibraryInstallFailure',
  'DatabricksNetworkFailure',
  'DatabricksNetworkMisconfiguration',
  'DatabricksImageFailure',
  'DatabricksCloudPermissionError',
  'DatabricksWorkspaceStateError',
  'DatabricksServiceFault',
  'DatabricksInstancePoolExhausted',
  'DatabricksWorkspaceMaintenance',
  'DatabricksJobFailure',
  'DatabricksUnclassifiedFailure',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

/** Coarse grouping for dashboards and alerts. */
export const CATEGORIES = [
  'driver',
  'infrastructure',
  'startup',
  'capacity',
  'spot',
  'configuration',
  'quota',
  'throttling',
  'init_script',
  'library',
  'network',
  'image',
  'permissions',
  'account',
  'service',
  'job',
  'unknown',
] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * What the automation does. The workflow maps cluster actions onto the primitive the cluster's
 * current state allows (start a TERMINATED cluster, restart a RUNNING one, repair a job run).
 */
export const ACTIONS = [
  /** Bring the cluster back as it was (start if terminated, restart if running). The seed's name. */
  'restart_cluster',
  /** Start with a configured alternative node type (capacity and stockout failures). */
  'restart_with_different_instance_type',
  /** Start with on-demand instead of spot capacity. */
  'restart_with_on_demand',
  /** Roll back the edit that broke the cluster (`previous_attributes` of its EDITED event), then start. */
  'rollback_config',
  /** Wait out a throttle or transient fault, then start. */
  'retry_with_backoff',
  /** Re-run the failed tasks of a job run (job clusters cannot be started or edited). */
  'repair_run',
  /** No automatic change: escalate to a human with the evidence. */
  'escalate',
] as const;
export type Action = (typeof ACTIONS)[number];

export interface ErrorTypeInfo {
  readonly category: Category;
  readonly description: string;
}

export const ERROR_TYPE_INFO: Readonly<Record<ErrorType, ErrorTypeInfo>> = {
  DatabricksDriverNotResponding: {
    category: 'driver',
    description: 'the driver stopped responding or was lost',
  },
  DatabricksClusterTerminated: {
    category: 'infrastructure',
    description: 'the cloud or Databricks terminated a healthy cluster',
  },
  DatabricksClusterStartFailure: { category: 'startup', description: 'the cluster failed to start' },
  DatabricksResourceExhausted: {
    category: 'capacity',
    description: 'the cloud had no capacity for the requested instance type',
  },
  DatabricksConfigurationError: {
    category: 'configuration',
    description: 'the cluster specification is invalid or misconfigured',
  },
  DatabricksSpotInstanceLost: { category: 'spot', description: 'spot capacity was reclaimed or refused' },
  DatabricksDriverOutOfMemory: { category: 'driver', description: 'the driver ran out of memory' },
  DatabricksOutOfDisk: { category: 'driver', description: 'a node ran out of disk' },
  DatabricksCloudQuotaExceeded: {
    category: 'quota',
    description: 'a cloud account quota or limit was reached; a human must raise it',
  },
  DatabricksCloudThrottled: {
    category: 'throttling',
    description: 'a cloud or Databricks API throttled the request',
  },
  DatabricksInitScriptFailure: { category: 'init_script', description: 'an init script failed' },
  DatabricksLibraryInstallFailure: { category: 'library', description: 'a library failed to install' },
  DatabricksNetworkFailure: { category: 'network', description: 'a transient network failure' },
  DatabricksNetworkMisconfiguration: {
    category: 'network',
    description: 'the workspace network (VPC, subnets, DNS, firewall) is misconfigured',
  },
  DatabricksImageFailure: {
    category: 'image',
    description: 'the runtime or container image is invalid or unavailable',
  },
  DatabricksCloudPermissionError: {
    category: 'permissions',
    description: 'a cloud or Databricks permission (IAM role, KMS key, secret) is missing',
  },
  DatabricksWorkspaceStateError: {
    category: 'account',
    description:
      'the workspace or account forbids compute (trial, budget, policy, a launch hold) or an administrator changed it',
  },
  DatabricksServiceFault: { category: 'service', description: 'a Databricks service fault' },
  DatabricksInstancePoolExhausted: {
    category: 'capacity',
    description: 'the instance pool is at its maximum size; instances come back as its clusters stop',
  },
  DatabricksWorkspaceMaintenance: {
    category: 'service',
    description: 'Databricks stopped clusters across the workspace (update, certificate rotation)',
  },
  DatabricksJobFailure: {
    category: 'job',
    description: 'the job itself failed; the cluster was not the cause',
  },
  DatabricksUnclassifiedFailure: { category: 'unknown', description: 'a failure the system cannot classify' },
};
