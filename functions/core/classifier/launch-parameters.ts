/**
 * Refines a generic launch failure (`CLOUD_PROVIDER_LAUNCH_FAILURE`) by what the cloud said in the
 * termination reason's `parameters` (api-facts §1.5): an instance limit is a quota a person must
 * raise, a spot price or spot limit is solved by on-demand capacity, a capacity shortage by another
 * node type, a throttle by waiting, a refused permission by a person.
 *
 * The cloud's error code decides when it is one this table knows (`aws_api_error_code`,
 * `aws_instance_state_reason`, `aws_spot_request_status`, `aws_spot_request_fault_code`,
 * `azure_error_code`, `gcp_error_code`, and any other `*_error_code` or `*_error`); otherwise the cloud's and
 * Databricks' messages (`*_error_message`) are read by the free-text matcher, restricted to the
 * families a launch failure can be refined into. Without either, the code's own decision stands.
 */
import type { ErrorType } from '../error-types.ts';
import { matchFreeText } from './free-text.ts';

/** Codes whose meaning is "the cloud did not give us the instances", refined by their parameters. */
export const REFINED_LAUNCH_CODES: ReadonlySet<string> = new Set([
  'CLOUD_PROVIDER_LAUNCH_FAILURE',
  'CLOUD_PROVIDER_INSTANCE_NOT_LAUNCHED',
  'INSTANCE_POOL_CLUSTER_FAILURE',
]);

const CAPACITY: ErrorType = 'DatabricksResourceExhausted';
const QUOTA: ErrorType = 'DatabricksCloudQuotaExceeded';
const SPOT: ErrorType = 'DatabricksSpotInstanceLost';
const THROTTLED: ErrorType = 'DatabricksCloudThrottled';
const PERMISSION: ErrorType = 'DatabricksCloudPermissionError';
const ACCOUNT: ErrorType = 'DatabricksWorkspaceStateError';
const CONFIG: ErrorType = 'DatabricksConfigurationError';
const MISCONFIG_NET: ErrorType = 'DatabricksNetworkMisconfiguration';
const POOL: ErrorType = 'DatabricksInstancePoolExhausted';

/**
 * Cloud error codes as the clouds spell them; they are compared normalised (lower case, letters and
 * digits only, `Client.`/`Server.` prefix dropped). Sources: the EC2 API error codes and spot request status codes, the Azure VM deployment
 * error codes, the Compute Engine resource-availability and quota errors.
 */
export const CLOUD_ERROR_CODES: Readonly<Record<string, ErrorType>> = {
  // AWS — capacity: the zone has none of this instance type now; another type or zone helps.
  InsufficientInstanceCapacity: CAPACITY,
  InsufficientHostCapacity: CAPACITY,
  InsufficientReservedInstanceCapacity: CAPACITY,
  InsufficientCapacity: CAPACITY,
  // AWS — limits of the account: a person raises them.
  InstanceLimitExceeded: QUOTA,
  VcpuLimitExceeded: QUOTA,
  VolumeLimitExceeded: QUOTA,
  MaxIOPSLimitExceeded: QUOTA,
  AddressLimitExceeded: QUOTA,
  NetworkInterfaceLimitExceeded: QUOTA,
  ResourceLimitExceeded: QUOTA,
  InsufficientFreeAddressesInSubnet: QUOTA,
  // AWS — spot: price, spot limits and spot capacity; on-demand capacity still works.
  SpotMaxPriceTooLow: SPOT,
  MaxSpotInstanceCountExceeded: SPOT,
  MaxSpotFleetRequestCountExceeded: SPOT,
  SpotInstanceTermination: SPOT,
  'price-too-low': SPOT,
  'capacity-not-available': SPOT,
  'capacity-oversubscribed': SPOT,
  'instance-terminated-by-price': SPOT,
  'instance-terminated-no-capacity': SPOT,
  'instance-terminated-capacity-oversubscribed': SPOT,
  'marked-for-termination': SPOT,
  // AWS — throttling of the EC2 API.
  RequestLimitExceeded: THROTTLED,
  // AWS — permissions and account state.
  UnauthorizedOperation: PERMISSION,
  AuthFailure: PERMISSION,
  AccessDenied: PERMISSION,
  'InvalidKMSKey.InvalidState': PERMISSION,
  Blocked: ACCOUNT,
  OptInRequired: ACCOUNT,
  PendingVerification: ACCOUNT,
  // AWS — the request itself is wrong for this account or zone.
  InvalidParameterValue: CONFIG,
  InvalidParameterCombination: CONFIG,
  Unsupported: CONFIG,
  'InvalidAMIID.NotFound': CONFIG,
  'InvalidAMIID.Malformed': CONFIG,
  'InvalidKeyPair.NotFound': CONFIG,
  'InvalidSnapshot.NotFound': CONFIG,
  InvalidBlockDeviceMapping: CONFIG,
  'InvalidSubnetID.NotFound': MISCONFIG_NET,
  'InvalidGroup.NotFound': MISCONFIG_NET,
  // Azure — capacity in the region or zone.
  AllocationFailed: CAPACITY,
  ZonalAllocationFailed: CAPACITY,
  OverconstrainedAllocationRequest: CAPACITY,
  OverconstrainedZonalAllocationRequest: CAPACITY,
  SkuNotAvailable: CAPACITY,
  // Azure — quotas (OperationNotAllowed is how Azure refuses a deployment beyond the core quota).
  QuotaExceeded: QUOTA,
  OperationNotAllowed: QUOTA,
  ResourceQuotaExceeded: QUOTA,
  PublicIPCountLimitReached: QUOTA,
  SubnetIsFull: QUOTA,
  InsufficientSubnetSize: QUOTA,
  // Azure — throttling of Resource Manager or a resource provider.
  TooManyRequests: THROTTLED,
  SubscriptionRequestsThrottled: THROTTLED,
  ResourceRequestsThrottled: THROTTLED,
  // Azure — permissions, policy, subscription state.
  AuthorizationFailed: PERMISSION,
  LinkedAuthorizationFailed: PERMISSION,
  RequestDisallowedByPolicy: PERMISSION,
  KeyVaultAccessForbidden: PERMISSION,
  MissingSubscriptionRegistration: ACCOUNT,
  ReadOnlyDisabledSubscription: ACCOUNT,
  SubscriptionNotFound: ACCOUNT,
  // GCP — capacity of the zone.
  ZONE_RESOURCE_POOL_EXHAUSTED: CAPACITY,
  ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS: CAPACITY,
  REGION_RESOURCE_POOL_EXHAUSTED: CAPACITY,
  RESOURCE_POOL_EXHAUSTED: CAPACITY,
  STOCKOUT: CAPACITY,
  // GCP — quotas, rate quotas, permissions.
  QUOTA_EXCEEDED_WITH_DETAILS: QUOTA,
  IP_SPACE_EXHAUSTED: QUOTA,
  rateLimitExceeded: THROTTLED,
  userRateLimitExceeded: THROTTLED,
  PERMISSION_DENIED: PERMISSION,
  FORBIDDEN: PERMISSION,
  // Databricks pools (`instance_pool_error_code`, PoolClusterTerminationCode of the API 2.0 spec).
  INSTANCE_POOL_MAX_CAPACITY_FAILURE: POOL,
  INSTANCE_POOL_NOT_FOUND_FAILURE: CONFIG,
};

/** Families a launch failure may be refined into from its messages: the ones a launch failure can be. */
const MESSAGE_FAMILIES: ReadonlySet<ErrorType> = new Set([
  CAPACITY,
  POOL,
  QUOTA,
  SPOT,
  THROTTLED,
  PERMISSION,
  ACCOUNT,
]);

const BY_NORMALISED_CODE: ReadonlyMap<string, ErrorType> = new Map(
  Object.entries(CLOUD_ERROR_CODES).map(([code, errorType]) => [normalise(code), errorType]),
);

export interface ParameterRefinement {
  readonly errorType: ErrorType;
  readonly confidence: number;
  /** What in the parameters decided, e.g. `aws_api_error_code=InstanceLimitExceeded`. */
  readonly evidence: string;
}

/** Normalises a cloud error code: `Server.InsufficientInstanceCapacity` → `insufficientinstancecapacity`. */
function normalise(code: string): string {
  return code
    .trim()
    .replace(/^(client|server)\./i, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

export const CODE_KEYS = [
  'aws_api_error_code',
  'aws_instance_state_reason',
  'aws_spot_request_status',
  'aws_spot_request_fault_code',
  'azure_error_code',
  'gcp_error_code',
];
const MESSAGE_KEYS = [
  'aws_error_message',
  'azure_error_message',
  'gcp_error_message',
  'databricks_error_message',
];

/**
 * The refinement the parameters support, or undefined when they say nothing this module knows. A
 * pool-backed launch (`INSTANCE_POOL_CLUSTER_FAILURE`, or an `instance_pool_id` in the parameters)
 * short of capacity waits for its pool: a pool cluster's node type cannot be changed.
 */
export function refineByParameters(
  parameters: Readonly<Record<string, string | undefined>> | undefined,
  code?: string,
): ParameterRefinement | undefined {
  if (parameters === undefined) return undefined;
  const refined = refine(parameters);
  const pooled =
    code === 'INSTANCE_POOL_CLUSTER_FAILURE' || (parameters.instance_pool_id ?? '').trim() !== '';
  if (refined?.errorType === CAPACITY && pooled) {
    return { ...refined, errorType: POOL, evidence: `${refined.evidence}, on an instance pool` };
  }
  return refined;
}

function refine(parameters: Readonly<Record<string, string | undefined>>): ParameterRefinement | undefined {
  const codeKeys = [
    ...CODE_KEYS,
    ...Object.keys(parameters).filter((key) => /_error(?:_code)?$/.test(key) && !CODE_KEYS.includes(key)),
  ];
  for (const key of codeKeys) {
    const value = parameters[key];
    if (value === undefined || value.trim() === '') continue;
    const errorType = BY_NORMALISED_CODE.get(normalise(value));
    if (errorType !== undefined) {
      return { errorType, confidence: 0.9, evidence: `${key}=${value.trim().slice(0, 100)}` };
    }
  }
  const messageKeys = [
    ...MESSAGE_KEYS,
    ...Object.keys(parameters).filter((key) => key.endsWith('_error_message') && !MESSAGE_KEYS.includes(key)),
  ];
  for (const key of [...codeKeys, ...messageKeys]) {
    const text = matchFreeText(parameters[key]);
    if (text !== undefined && MESSAGE_FAMILIES.has(text.errorType)) {
      return {
        errorType: text.errorType,
        confidence: text.confidence,
        evidence: `${key}: "${text.evidence}"`,
      };
    }
  }
  return undefined;
}
