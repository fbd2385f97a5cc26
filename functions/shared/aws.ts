/**
 * AWS SDK clients, built once per Lambda container and shared by every invocation. Endpoints can be
 * redirected (DynamoDB Local, tests) through `AWS_ENDPOINT_URL_*`, which the SDK reads itself.
 *
 * Every request is bounded in time: without a request timeout the SDK waits on a hung connection
 * until the Lambda itself times out, and the task fails with nothing to show for it. A timed-out
 * request fails with a `TimeoutError`, which the SDK retries and the workflow treats as transient.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
// Ships with the AWS SDK clients (their default request handler).
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface HttpTimeouts {
  /** Milliseconds to establish the connection. */
  readonly connectionTimeout: number;
  /** Milliseconds for the whole request, once connected. */
  readonly requestTimeout: number;
}

/**
 * Far above these services' usual latency (milliseconds), and small enough that the SDK's three
 * attempts fit well inside the 60 s of the task function.
 */
export const AWS_HTTP_TIMEOUTS: HttpTimeouts = { connectionTimeout: 3000, requestTimeout: 5000 };

/** A request handler that fails a request exceeding `timeouts` instead of only warning about it. */
export function awsHttpHandler(timeouts: HttpTimeouts = AWS_HTTP_TIMEOUTS): NodeHttpHandler {
  return new NodeHttpHandler({ ...timeouts, throwOnRequestTimeout: true });
}

const dynamoDb = new DynamoDBClient({ requestHandler: awsHttpHandler() });

export const documentClient = DynamoDBDocumentClient.from(dynamoDb, {
  marshallOptions: { removeUndefinedValues: true },
});
export const secretsManager = new SecretsManagerClient({ requestHandler: awsHttpHandler() });
export const stepFunctions = new SFNClient({ requestHandler: awsHttpHandler() });
export const sns = new SNSClient({ requestHandler: awsHttpHandler() });
