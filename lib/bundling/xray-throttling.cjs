'use strict';
/**
 * What the bundles' X-Ray SDK gets for `@smithy/service-error-classification` (see
 * `lib/bundling/esbuild.ts`): the one function its AWS SDK v3 patcher calls (`aws3_p.js`, to mark a
 * traced call's subsegment as throttled), with the package's own rule and throttling error names, not
 * its whole module of clock-skew, transient and server-error rules.
 */
const THROTTLING_ERROR_CODES = [
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
];

module.exports = {
  isThrottlingError: (error) =>
    error.$metadata?.httpStatusCode === 429 ||
    THROTTLING_ERROR_CODES.includes(error.name) ||
    error.$retryable?.throttling === true,
};
