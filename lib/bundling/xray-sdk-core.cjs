'use strict';
/**
 * What the bundles get for `aws-xray-sdk-core` (see `lib/bundling/esbuild.ts`): the SDK's own modules
 * that Powertools Tracer uses, required one by one, in place of the SDK's index (`dist/lib/aws-xray.js`),
 * which also loads what a Lambda function never runs — the EC2, ECS and Elastic Beanstalk plugins, the
 * AWS SDK v2 patcher, the promise patcher, the SQL data class and the HTTP middleware with its
 * centralized sampling (pollers, rule cache, service connector). About 20 KB of every bundle that
 * loads the Tracer, and the time to compile and run them at every cold start.
 *
 * The start-up is the index's: the SDK and service data every segment carries, and the Lambda
 * environment's facade segment. Each export is the SDK's own function.
 */
const contextUtils = require('aws-xray-sdk-core/dist/lib/context_utils');
const logging = require('aws-xray-sdk-core/dist/lib/logger');
const segmentUtils = require('aws-xray-sdk-core/dist/lib/segments/segment_utils');
const LambdaEnv = require('aws-xray-sdk-core/dist/lib/env/aws_lambda');
const capture = require('aws-xray-sdk-core/dist/lib/capture');
const pkginfo = require('aws-xray-sdk-core/package.json');

const UNKNOWN = 'unknown';

/** Tracer's deprecated AWS SDK v2 methods: the functions use SDK v3 only. */
function sdkV2NotBundled() {
  throw new Error('AWS SDK v2 is not traced in this bundle: use captureAWSv3Client (SDK v3)');
}

module.exports = {
  captureAWS: sdkV2NotBundled,
  captureAWSClient: sdkV2NotBundled,
  captureAWSv3Client: require('aws-xray-sdk-core/dist/lib/patchers/aws3_p').captureAWSClient,
  captureAsyncFunc: capture.captureAsyncFunc,
  captureCallbackFunc: capture.captureCallbackFunc,
  captureFunc: capture.captureFunc,
  captureHTTPs: require('aws-xray-sdk-core/dist/lib/patchers/http_p').captureHTTPs,
  captureHTTPsGlobal: require('aws-xray-sdk-core/dist/lib/patchers/http_p').captureHTTPsGlobal,
  getLogger: logging.getLogger,
  getNamespace: contextUtils.getNamespace,
  getSegment: contextUtils.getSegment,
  isAutomaticMode: contextUtils.isAutomaticMode,
  resolveSegment: contextUtils.resolveSegment,
  setContextMissingStrategy: contextUtils.setContextMissingStrategy,
  setDaemonAddress: require('aws-xray-sdk-core/dist/lib/daemon_config').setDaemonAddress,
  setLogger: logging.setLogger,
  setSegment: contextUtils.setSegment,
  setStreamingThreshold: segmentUtils.setStreamingThreshold,
  Segment: require('aws-xray-sdk-core/dist/lib/segments/segment'),
  Subsegment: require('aws-xray-sdk-core/dist/lib/segments/attributes/subsegment'),
  SegmentUtils: segmentUtils,
};

segmentUtils.setSDKData({
  sdk: 'X-Ray for Node.js',
  sdk_version: pkginfo.version ? pkginfo.version : UNKNOWN,
  package: pkginfo.name ? pkginfo.name : UNKNOWN,
});
segmentUtils.setServiceData({
  runtime: process.release?.name ? process.release.name : UNKNOWN,
  runtime_version: process.version,
  version: process.env.npm_package_version || UNKNOWN,
  name: process.env.npm_package_name || UNKNOWN,
});
if (process.env.LAMBDA_TASK_ROOT) {
  LambdaEnv.init();
}
