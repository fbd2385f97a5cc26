/**
 * The reviewed decision for every known cluster termination code (the union of the Go, Java and
 * Python SDK enums, 195 codes). `test/core/termination-codes.test.ts` fails if a code of the
 * reference list has no entry here. Codes not in this table fall back on their termination type
 * (see classify.ts); a SUCCESS-type termination is never a failure, whatever its code.
 *
 * Guidelines applied:
 * - user, inactivity and job-end terminations are not failures;
 * - `*_DUE_TO_MISCONFIG` and other customer-side configuration problems map to types whose playbook
 *   never retries blindly (rollback of a recent edit, or escalation);
 * - cloud capacity → a fallback node type; spot loss → on-demand; throttling → back off;
 * - quotas, permissions, account state, images and init scripts need a human → escalation.
 */
import type { ErrorType } from '../error-types.ts';

export type CodeDecision =
  | { readonly failure: false; readonly why: string }
  | { readonly failure: true; readonly errorType: ErrorType; readonly why: string; readonly alias?: true };

const ok = (why: string): CodeDecision => ({ failure: false, why });
const fail = (errorType: ErrorType, why: string): CodeDecision => ({ failure: true, errorType, why });

const DRIVER: ErrorType = 'DatabricksDriverNotResponding';
const TERMINATED: ErrorType = 'DatabricksClusterTerminated';
const START: ErrorType = 'DatabricksClusterStartFailure';
const CAPACITY: ErrorType = 'DatabricksResourceExhausted';
const CONFIG: ErrorType = 'DatabricksConfigurationError';
const SPOT: ErrorType = 'DatabricksSpotInstanceLost';
const OOM: ErrorType = 'DatabricksDriverOutOfMemory';
const DISK: ErrorType = 'DatabricksOutOfDisk';
const QUOTA: ErrorType = 'DatabricksCloudQuotaExceeded';
const THROTTLED: ErrorType = 'DatabricksCloudThrottled';
const INIT: ErrorType = 'DatabricksInitScriptFailure';
const NETWORK: ErrorType = 'DatabricksNetworkFailure';
const MISCONFIG_NET: ErrorType = 'DatabricksNetworkMisconfiguration';
const IMAGE: ErrorType = 'DatabricksImageFailure';
const PERMISSION: ErrorType = 'DatabricksCloudPermissionError';
const ACCOUNT: ErrorType = 'DatabricksWorkspaceStateError';
const SERVICE: ErrorType = 'DatabricksServiceFault';
const POOL: ErrorType = 'DatabricksInstancePoolExhausted';
const MAINTENANCE: ErrorType = 'DatabricksWorkspaceMaintenance';
const UNCLASSIFIED: ErrorType = 'DatabricksUnclassifiedFailure';

const allocationTimeout = fail(
  START,
  'serverless/k8s capacity allocation timed out on the Databricks side; a new start usually succeeds',
);
const networkCheck = fail(
  NETWORK,
  'a start-up network check failed without being attributed to misconfiguration; retry once',
);
const networkCheckMisconfig = fail(
  MISCONFIG_NET,
  'a start-up network check failed because of customer network configuration; retrying cannot fix it',
);
const k8sAllocation = fail(
  SERVICE,
  'no Kubernetes data plane matched or was active for the cluster; a Databricks-side condition worth a delayed retry',
);

export const TERMINATION_CODE_TABLE: Readonly<Record<string, CodeDecision>> = {
  ABUSE_DETECTED: fail(ACCOUNT, 'the account was flagged for abuse; only Databricks can lift it'),
  ACCESS_TOKEN_FAILURE: fail(
    PERMISSION,
    'the cluster could not obtain its cloud access token; check the credential configuration',
  ),
  ALLOCATION_TIMEOUT: allocationTimeout,
  ALLOCATION_TIMEOUT_NODE_DAEMON_NOT_READY: allocationTimeout,
  ALLOCATION_TIMEOUT_NO_HEALTHY_AND_WARMED_UP_CLUSTERS: allocationTimeout,
  ALLOCATION_TIMEOUT_NO_HEALTHY_CLUSTERS: allocationTimeout,
  ALLOCATION_TIMEOUT_NO_MATCHED_CLUSTERS: allocationTimeout,
  ALLOCATION_TIMEOUT_NO_READY_CLUSTERS: allocationTimeout,
  ALLOCATION_TIMEOUT_NO_UNALLOCATED_CLUSTERS: allocationTimeout,
  ALLOCATION_TIMEOUT_NO_WARMED_UP_CLUSTERS: allocationTimeout,
  ATTACH_PROJECT_FAILURE: fail(SERVICE, 'Databricks failed to attach the cloud project during setup'),
  AWS_AUTHORIZATION_FAILURE: fail(
    PERMISSION,
    'AWS refused the request: the cross-account role lacks a permission',
  ),
  AWS_INACCESSIBLE_KMS_KEY_FAILURE: fail(
    PERMISSION,
    'the EBS/KMS key is not accessible to the workspace role',
  ),
  AWS_INSTANCE_PROFILE_UPDATE_FAILURE: fail(
    PERMISSION,
    'the instance profile could not be attached; check iam:PassRole',
  ),
  AWS_INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET_FAILURE: fail(
    QUOTA,
    'the subnet has no free IP addresses; the address space must grow or clusters shrink',
  ),
  AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE: fail(
    CAPACITY,
    'AWS has no capacity for the instance type in the zone; another type or zone helps',
  ),
  AWS_INVALID_KEY_PAIR: fail(CONFIG, 'the SSH key pair in the cluster spec is invalid'),
  AWS_INVALID_KMS_KEY_STATE: fail(PERMISSION, 'the KMS key is disabled or pending deletion'),
  AWS_MAX_SPOT_INSTANCE_COUNT_EXCEEDED_FAILURE: fail(
    SPOT,
    'the account hit its spot instance limit; on-demand capacity still works',
  ),
  AWS_REQUEST_LIMIT_EXCEEDED: fail(THROTTLED, 'the EC2 API rate limit of the account was hit; back off'),
  AWS_RESOURCE_QUOTA_EXCEEDED: fail(
    QUOTA,
    'an AWS service quota (vCPUs, volumes) is exhausted; request an increase',
  ),
  AWS_UNSUPPORTED_FAILURE: fail(
    CONFIG,
    'AWS does not support the requested configuration (e.g. instance type in this zone)',
  ),
  AZURE_BYOK_KEY_PERMISSION_FAILURE: fail(PERMISSION, 'the customer-managed key is not accessible'),
  AZURE_EPHEMERAL_DISK_FAILURE: fail(
    START,
    'the ephemeral OS disk could not be provisioned; a new start usually succeeds',
  ),
  AZURE_INVALID_DEPLOYMENT_TEMPLATE: fail(
    CONFIG,
    'Azure rejected the deployment template built from the cluster spec',
  ),
  AZURE_OPERATION_NOT_ALLOWED_EXCEPTION: fail(
    QUOTA,
    'Azure refused the operation, typically because it would exceed a quota',
  ),
  AZURE_PACKED_DEPLOYMENT_PARTIAL_FAILURE: fail(
    START,
    'part of the VM deployment failed; a new start usually succeeds',
  ),
  AZURE_QUOTA_EXCEEDED_EXCEPTION: fail(QUOTA, 'an Azure subscription quota for the VM family is exhausted'),
  AZURE_RESOURCE_MANAGER_THROTTLING: fail(
    THROTTLED,
    'Azure Resource Manager throttled the subscription (hourly limit); back off',
  ),
  AZURE_RESOURCE_PROVIDER_THROTTLING: fail(
    THROTTLED,
    'an Azure resource provider throttled the requests; back off',
  ),
  AZURE_UNEXPECTED_DEPLOYMENT_TEMPLATE_FAILURE: fail(
    START,
    'the Azure deployment failed unexpectedly; retry',
  ),
  AZURE_VM_EXTENSION_FAILURE: fail(START, 'a VM extension failed during provisioning; retry'),
  AZURE_VNET_CONFIGURATION_FAILURE: fail(
    MISCONFIG_NET,
    'the injected VNet is misconfigured (DNS, routes, NSG)',
  ),
  BOOTSTRAP_TIMEOUT: fail(START, 'nodes did not report in time (seed: restart with a longer timeout)'),
  BOOTSTRAP_TIMEOUT_CLOUD_PROVIDER_EXCEPTION: fail(
    START,
    'bootstrap timed out because of a cloud provider error; retry',
  ),
  BOOTSTRAP_TIMEOUT_DUE_TO_MISCONFIG: fail(
    MISCONFIG_NET,
    'bootstrap timed out because nodes cannot reach the control plane (network misconfiguration)',
  ),
  BUDGET_POLICY_LIMIT_ENFORCEMENT_ACTIVATED: fail(
    ACCOUNT,
    'a budget policy stopped the compute; an owner must raise the budget',
  ),
  BUDGET_POLICY_RESOLUTION_FAILURE: fail(ACCOUNT, 'the budget policy could not be resolved for the cluster'),
  CERT_ROTATION: fail(
    MAINTENANCE,
    'Databricks rotated certificates across the workspace and stopped its clusters together; starting them all at once would stampede the workspace, so a person decides (escalate)',
  ),
  CLOUD_ACCOUNT_POD_QUOTA_EXCEEDED: fail(QUOTA, 'the cloud account pod quota is exhausted'),
  CLOUD_ACCOUNT_SETUP_FAILURE: fail(ACCOUNT, 'the cloud account of the workspace is not set up correctly'),
  CLOUD_OPERATION_CANCELLED: fail(START, 'the cloud cancelled an operation during launch; retry'),
  CLOUD_PROVIDER_DISK_SETUP_FAILURE: fail(START, 'disks could not be set up on the instances; retry'),
  CLOUD_PROVIDER_INSTANCE_NOT_LAUNCHED: fail(START, 'the cloud did not launch the instances; retry'),
  CLOUD_PROVIDER_LAUNCH_FAILURE: fail(
    START,
    "the cloud refused or failed the instance request (seed: restart with retry); refined by the cloud's error code in `parameters` when one is given (quota, capacity, spot, throttling, permission)",
  ),
  CLOUD_PROVIDER_LAUNCH_FAILURE_DUE_TO_MISCONFIG: fail(
    CONFIG,
    'the launch failed because of customer-side configuration; retrying cannot fix it',
  ),
  CLOUD_PROVIDER_RESOURCE_STOCKOUT: fail(
    CAPACITY,
    'the cloud is out of the requested resource (retryable; another type helps)',
  ),
  CLOUD_PROVIDER_RESOURCE_STOCKOUT_DUE_TO_MISCONFIG: fail(
    CONFIG,
    'the requested resource is never offered where the spec asks for it (e.g. type not in zone)',
  ),
  CLOUD_PROVIDER_SHUTDOWN: fail(
    TERMINATED,
    'the cloud terminated the driver VM (e.g. instance retirement) (seed: restart)',
  ),
  CLUSTER_OPERATION_THROTTLED: fail(THROTTLED, 'Databricks throttled cluster operations; back off'),
  CLUSTER_OPERATION_TIMEOUT: fail(START, 'a cluster operation timed out; retry'),
  COMMUNICATION_LOST: fail(DRIVER, 'the control plane lost contact with the driver; restart'),
  CONTAINER_LAUNCH_FAILURE: fail(
    NETWORK,
    'containers could not be launched on the workers, usually a transient network problem',
  ),
  CONTROL_PLANE_CONNECTION_FAILURE: fail(
    NETWORK,
    'nodes could not connect to the control plane; transient unless it repeats',
  ),
  CONTROL_PLANE_CONNECTION_FAILURE_DUE_TO_MISCONFIG: fail(
    MISCONFIG_NET,
    'nodes cannot reach the control plane because of network configuration',
  ),
  CONTROL_PLANE_REQUEST_FAILURE: fail(SERVICE, 'a control-plane request failed on the Databricks side'),
  CONTROL_PLANE_REQUEST_FAILURE_DUE_TO_MISCONFIG: fail(
    MISCONFIG_NET,
    'control-plane requests fail because of network configuration',
  ),
  COST_CONTROL_ENTITLEMENT_DENIED: fail(ACCOUNT, 'a cost-control entitlement forbids this compute'),
  DATABASE_CONNECTION_FAILURE: fail(SERVICE, 'the connection to the metastore database failed'),
  DATA_ACCESS_CONFIG_CHANGED: fail(
    ACCOUNT,
    "an administrator changed the workspace's data-access configuration, which stopped the cluster; starting it again would override the admin's timing, so escalate",
  ),
  DBFS_COMPONENT_UNHEALTHY: fail(SERVICE, 'DBFS was unreachable; a Databricks-side dependency'),
  DBR_IMAGE_RESOLUTION_FAILURE: fail(IMAGE, 'the Databricks Runtime image could not be resolved'),
  DISASTER_RECOVERY_REPLICATION: ok(
    'terminated by disaster-recovery replication, an operator action; restarting here could fight a failover',
  ),
  DNS_RESOLUTION_ERROR: fail(NETWORK, 'DNS resolution failed on the nodes'),
  DOCKER_CONTAINER_CREATION_EXCEPTION: fail(IMAGE, 'the custom container could not be created'),
  DOCKER_IMAGE_PULL_FAILURE: fail(IMAGE, 'the custom container image could not be pulled'),
  DOCKER_IMAGE_TOO_LARGE_FOR_INSTANCE_EXCEPTION: fail(
    CONFIG,
    'the container image does not fit the instance disk; change the spec',
  ),
  DOCKER_INVALID_OS_EXCEPTION: fail(IMAGE, 'the custom container image has an unsupported OS'),
  DRIVER_DNS_RESOLUTION_FAILURE: fail(NETWORK, 'the driver could not resolve DNS names'),
  DRIVER_EVICTION: fail(DRIVER, 'the driver pod was evicted; restart'),
  DRIVER_LAUNCH_TIMEOUT: fail(START, 'the driver pod did not launch in time'),
  DRIVER_NODE_UNREACHABLE: fail(DRIVER, 'the driver node became unreachable; restart'),
  DRIVER_OUT_OF_DISK: fail(
    DISK,
    'the driver ran out of disk (a workload issue per Databricks); fix the workload',
  ),
  DRIVER_OUT_OF_MEMORY: fail(OOM, 'the driver ran out of memory; one restart, then a human'),
  DRIVER_POD_CREATION_FAILURE: fail(START, 'the driver pod could not be created'),
  DRIVER_UNEXPECTED_FAILURE: fail(DRIVER, 'the driver failed unexpectedly; restart'),
  DRIVER_UNHEALTHY: fail(DRIVER, 'the driver was down or unresponsive for an extended time; restart'),
  DRIVER_UNREACHABLE: fail(DRIVER, "the driver's agent stopped answering (seed: restart)"),
  DRIVER_UNRESPONSIVE: fail(DRIVER, 'the driver stopped responding; restart'),
  DYNAMIC_SPARK_CONF_SIZE_EXCEEDED: fail(CONFIG, 'the Spark configuration is too large; change the spec'),
  EOS_SPARK_IMAGE: fail(IMAGE, 'the Databricks Runtime reached end of support; upgrade spark_version'),
  EXECUTION_COMPONENT_UNHEALTHY: fail(SERVICE, 'a Databricks execution component was unhealthy'),
  EXECUTOR_POD_UNSCHEDULED: fail(START, 'executor pods could not be scheduled in time'),
  GCP_API_RATE_QUOTA_EXCEEDED: fail(THROTTLED, 'the GCP API rate quota was hit; back off'),
  GCP_DENIED_BY_ORG_POLICY: fail(PERMISSION, 'a GCP organisation policy denied the request'),
  GCP_FORBIDDEN: fail(PERMISSION, 'GCP refused the request (permission)'),
  GCP_IAM_TIMEOUT: fail(START, 'GCP IAM propagation timed out; a later start usually succeeds'),
  GCP_INACCESSIBLE_KMS_KEY_FAILURE: fail(PERMISSION, 'the GCP KMS key is not accessible'),
  GCP_INSUFFICIENT_CAPACITY: fail(CAPACITY, 'GCP has no capacity for the machine type in the zone'),
  GCP_IP_SPACE_EXHAUSTED: fail(QUOTA, 'the GCP subnet IP space is exhausted'),
  GCP_KMS_KEY_PERMISSION_DENIED: fail(PERMISSION, 'permission to the GCP KMS key was denied'),
  GCP_NOT_FOUND: fail(CONFIG, 'a GCP resource referenced by the cluster does not exist'),
  GCP_QUOTA_EXCEEDED: fail(QUOTA, 'a GCP quota is exhausted'),
  GCP_RESOURCE_QUOTA_EXCEEDED: fail(QUOTA, 'a GCP resource quota is exhausted'),
  GCP_SERVICE_ACCOUNT_ACCESS_DENIED: fail(PERMISSION, 'the GCP service account was denied access'),
  GCP_SERVICE_ACCOUNT_DELETED: fail(PERMISSION, 'the GCP service account was deleted'),
  GCP_SERVICE_ACCOUNT_NOT_FOUND: fail(PERMISSION, 'the GCP service account does not exist'),
  GCP_SUBNET_NOT_READY: fail(NETWORK, 'the GCP subnet was not ready yet'),
  GCP_TRUSTED_IMAGE_PROJECTS_VIOLATED: fail(
    PERMISSION,
    'the trusted-image-projects policy forbids the image',
  ),
  GKE_BASED_CLUSTER_TERMINATION: fail(TERMINATED, 'the GKE node hosting the cluster was terminated'),
  GLOBAL_INIT_SCRIPT_FAILURE: fail(INIT, 'a global init script failed; fix the script'),
  HIVEMETASTORE_CONNECTIVITY_FAILURE: fail(SERVICE, 'the Hive metastore could not be reached'),
  HIVE_METASTORE_PROVISIONING_FAILURE: fail(SERVICE, 'the Hive metastore could not be provisioned'),
  IMAGE_PULL_PERMISSION_DENIED: fail(PERMISSION, 'pulling the container image was denied'),
  INACTIVITY: ok('auto-termination after the configured idle time'),
  INIT_CONTAINER_NOT_FINISHED: fail(START, 'the init container did not finish in time'),
  INIT_SCRIPT_FAILURE: fail(INIT, 'a cluster-scoped init script failed; fix the script, never blind-retry'),
  INSTANCE_POOL_CLUSTER_FAILURE: fail(
    START,
    "the instance pool failed to provide the nodes; refined by `instance_pool_error_code` and the cloud's error in `parameters` (a capacity shortage waits for the pool, never a node-type change)",
  ),
  INSTANCE_POOL_MAX_CAPACITY_REACHED: fail(
    POOL,
    'the instance pool is at its maximum capacity; instances return to it as its other clusters stop, so back off and retry the pool (never a node-type change)',
  ),
  INSTANCE_POOL_NOT_FOUND: fail(CONFIG, 'the instance pool in the spec does not exist'),
  INSTANCE_UNREACHABLE: fail(NETWORK, 'instances could not be reached; transient unless it repeats'),
  INSTANCE_UNREACHABLE_DUE_TO_MISCONFIG: fail(
    MISCONFIG_NET,
    'instances cannot be reached because of network configuration',
  ),
  INTERNAL_CAPACITY_FAILURE: fail(
    SERVICE,
    'Databricks had no internal capacity for the request (its spec: not enough provisioned Kubernetes capacity or cloud quota on its side); another node type does not help, so back off and retry',
  ),
  INTERNAL_ERROR: fail(SERVICE, 'an unexpected Databricks error forced termination'),
  INVALID_ARGUMENT: fail(CONFIG, 'an invalid argument in the cluster spec (seed: roll back the config)'),
  INVALID_AWS_PARAMETER: fail(CONFIG, 'an invalid AWS parameter in the cluster spec'),
  INVALID_INSTANCE_PLACEMENT_PROTOCOL: fail(CONFIG, 'an invalid instance placement setting in the spec'),
  INVALID_SPARK_IMAGE: fail(CONFIG, 'the spark_version or image in the spec is invalid'),
  INVALID_WORKER_IMAGE_FAILURE: fail(IMAGE, 'the worker image is invalid'),
  IN_PENALTY_BOX: fail(
    ACCOUNT,
    "Databricks put the cluster's failure in its penalty box (its spec: a known, repeating customer/error combination) and holds back its launches; a start during the hold re-triggers it and the repeating cause needs a person, so escalate, never retry",
  ),
  IP_EXHAUSTION_FAILURE: fail(QUOTA, 'the network ran out of IP addresses'),
  JOB_FINISHED: ok('the job cluster ended because its job ended'),
  K8S_ACTIVE_POD_QUOTA_EXCEEDED: fail(QUOTA, 'the Kubernetes active pod quota is exhausted'),
  K8S_AUTOSCALING_FAILURE: fail(SERVICE, 'Kubernetes autoscaling failed on the Databricks side'),
  K8S_DBR_CLUSTER_LAUNCH_TIMEOUT: fail(START, 'the Kubernetes-based cluster did not launch in time'),
  LAZY_ALLOCATION_TIMEOUT: fail(START, 'lazy allocation of nodes timed out'),
  MAINTENANCE_MODE: fail(
    MAINTENANCE,
    "Databricks' on-call terminated the cluster for emergency maintenance (its spec); a start could fight the maintenance and hits every cluster stopped with it, so a person decides (escalate)",
  ),
  METASTORE_COMPONENT_UNHEALTHY: fail(SERVICE, 'the metastore was unreachable; a Databricks-side dependency'),
  MTLS_PORT_CONNECTIVITY_FAILURE: fail(
    MISCONFIG_NET,
    'the mTLS port is blocked (firewall or security group)',
  ),
  NEPHOS_RESOURCE_MANAGEMENT: fail(SERVICE, 'an internal Databricks resource-management failure'),
  NETVISOR_SETUP_TIMEOUT: fail(NETWORK, 'network setup on the nodes timed out'),
  NETWORK_CHECK_CONTROL_PLANE_FAILURE: networkCheck,
  NETWORK_CHECK_CONTROL_PLANE_FAILURE_DUE_TO_MISCONFIG: networkCheckMisconfig,
  NETWORK_CHECK_DNS_SERVER_FAILURE: networkCheck,
  NETWORK_CHECK_DNS_SERVER_FAILURE_DUE_TO_MISCONFIG: networkCheckMisconfig,
  NETWORK_CHECK_METADATA_ENDPOINT_FAILURE: networkCheck,
  NETWORK_CHECK_METADATA_ENDPOINT_FAILURE_DUE_TO_MISCONFIG: networkCheckMisconfig,
  NETWORK_CHECK_MULTIPLE_COMPONENTS_FAILURE: networkCheck,
  NETWORK_CHECK_MULTIPLE_COMPONENTS_FAILURE_DUE_TO_MISCONFIG: networkCheckMisconfig,
  NETWORK_CHECK_NIC_FAILURE: networkCheck,
  NETWORK_CHECK_NIC_FAILURE_DUE_TO_MISCONFIG: networkCheckMisconfig,
  NETWORK_CHECK_STORAGE_FAILURE: networkCheck,
  NETWORK_CHECK_STORAGE_FAILURE_DUE_TO_MISCONFIG: networkCheckMisconfig,
  NETWORK_CONFIGURATION_FAILURE: fail(
    MISCONFIG_NET,
    'the workspace network configuration is broken (e.g. VPC DNS)',
  ),
  NFS_MOUNT_FAILURE: fail(NETWORK, 'an NFS mount failed during start-up'),
  NO_ACTIVATED_K8S: k8sAllocation,
  NO_ACTIVATED_K8S_TESTING_TAG: k8sAllocation,
  NO_MATCHED_K8S: k8sAllocation,
  NO_MATCHED_K8S_TESTING_TAG: k8sAllocation,
  NPIP_TUNNEL_SETUP_FAILURE: fail(NETWORK, 'the secure cluster connectivity tunnel could not be set up'),
  NPIP_TUNNEL_TOKEN_FAILURE: fail(
    SERVICE,
    'the secure cluster connectivity tunnel token could not be obtained',
  ),
  POD_ASSIGNMENT_FAILURE: fail(SERVICE, 'pods could not be assigned on the Databricks data plane'),
  POD_SCHEDULING_FAILURE: fail(SERVICE, 'pods could not be scheduled on the Databricks data plane'),
  RATE_LIMITED: fail(THROTTLED, 'the request was rate limited; back off'),
  REQUEST_REJECTED: fail(THROTTLED, 'Databricks could not handle the request right now; retry later'),
  REQUEST_THROTTLED: fail(THROTTLED, 'Databricks throttled the request; back off'),
  RESOURCE_USAGE_BLOCKED: fail(ACCOUNT, 'resource usage is blocked for the account'),
  SECRET_CREATION_ACCESS_DENIED: fail(PERMISSION, 'creating a secret for the cluster was denied'),
  SECRET_CREATION_FAILURE: fail(SERVICE, 'creating a secret for the cluster failed'),
  SECRET_PERMISSION_DENIED: fail(PERMISSION, 'the cluster owner cannot read a secret the spec references'),
  SECRET_RESOLUTION_ERROR: fail(CONFIG, 'a secret reference in the spec cannot be resolved'),
  SECURITY_AGENTS_FAILED_INITIAL_VERIFICATION: fail(
    START,
    'security agents failed their initial verification on the nodes',
  ),
  SECURITY_DAEMON_REGISTRATION_EXCEPTION: fail(START, 'the security daemon failed to register'),
  SELF_BOOTSTRAP_FAILURE: fail(START, 'the nodes failed to bootstrap themselves'),
  SERVERLESS_LONG_RUNNING_TERMINATED: ok(
    'serverless compute reached its maximum lifetime; Databricks replaces it on demand',
  ),
  SKIPPED_SLOW_NODES: ok('informational: the start completed without some slow nodes'),
  SLOW_IMAGE_DOWNLOAD: fail(START, 'the runtime image downloaded too slowly'),
  SPARK_ERROR: fail(
    CONFIG,
    'the Spark driver failed to start, usually incompatible libraries or init scripts',
  ),
  SPARK_IMAGE_DOWNLOAD_FAILURE: fail(START, 'the runtime image download failed; retry'),
  SPARK_IMAGE_DOWNLOAD_THROTTLED: fail(THROTTLED, 'the runtime image download was throttled; back off'),
  SPARK_IMAGE_NOT_FOUND: fail(IMAGE, 'the runtime image does not exist'),
  SPARK_STARTUP_FAILURE: fail(
    START,
    'Spark failed to initialise (seed: restart; if repeated, a configuration problem)',
  ),
  SPOT_INSTANCE_TERMINATION: fail(SPOT, 'the cloud reclaimed spot instances; on-demand capacity avoids it'),
  SSH_BOOTSTRAP_FAILURE: fail(START, 'bootstrapping over SSH failed'),
  STORAGE_DOWNLOAD_FAILURE: fail(START, 'downloading from storage failed during start-up'),
  STORAGE_DOWNLOAD_FAILURE_DUE_TO_MISCONFIG: fail(
    MISCONFIG_NET,
    'storage cannot be reached because of network or endpoint configuration',
  ),
  STORAGE_DOWNLOAD_FAILURE_SLOW: fail(START, 'downloading from storage was too slow'),
  STORAGE_DOWNLOAD_FAILURE_THROTTLED: fail(THROTTLED, 'downloading from storage was throttled'),
  STS_CLIENT_SETUP_FAILURE: fail(PERMISSION, 'the STS client could not be set up (credentials or role)'),
  SUBNET_EXHAUSTED_FAILURE: fail(QUOTA, 'the subnet ran out of addresses'),
  TEMPORARILY_UNAVAILABLE: fail(SERVICE, 'Databricks was temporarily unavailable; retry later'),
  TRIAL_EXPIRED: fail(ACCOUNT, 'the trial expired'),
  UNEXPECTED_LAUNCH_FAILURE: fail(START, 'critical set-up steps failed during launch; retry'),
  UNEXPECTED_POD_RECREATION: fail(TERMINATED, 'the cluster pods were recreated unexpectedly'),
  UNKNOWN: fail(UNCLASSIFIED, 'no code was recorded; the state message is the only evidence'),
  UNSUPPORTED_INSTANCE_TYPE: fail(CONFIG, 'the instance type is not supported; change the spec'),
  UPDATE_INSTANCE_PROFILE_FAILURE: fail(PERMISSION, 'the instance profile could not be updated'),
  USAGE_POLICY_ENTITLEMENT_DENIED: fail(ACCOUNT, 'a usage policy forbids this compute'),
  USER_INITIATED_VM_TERMINATION: ok('someone terminated the VM directly in the cloud console'),
  USER_REQUEST: ok('a user terminated the cluster'),
  WORKER_SETUP_FAILURE: fail(START, 'workers failed to set up'),
  WORKSPACE_CANCELLED_ERROR: fail(ACCOUNT, 'the workspace was cancelled'),
  WORKSPACE_CONFIGURATION_ERROR: fail(
    ACCOUNT,
    'the workspace configuration (credentials, storage) is broken',
  ),
  WORKSPACE_DELEGATION_KEY_MISCONFIGURED: fail(PERMISSION, 'the workspace delegation key is misconfigured'),
  WORKSPACE_UPDATE: fail(
    MAINTENANCE,
    'the worker environment changed with a workspace network or key (CMK) update, which stops every cluster of the workspace together; starting them all at once would stampede it, so a person decides (escalate)',
  ),
  // The seed's alias: not a real Databricks code, kept so the seed's Test 2 payload keeps working.
  INSUFFICIENT_INSTANCE_CAPACITY: {
    failure: true,
    errorType: CAPACITY,
    why: "the seed's name for instance capacity shortages (real code: AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE)",
    alias: true,
  },
};
