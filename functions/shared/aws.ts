/**
 * AWS SDK clients, built once per Lambda container and shared by every invocation. Endpoints can be
 * redirected (DynamoDB Local, tests) through `AWS_ENDPOINT_URL_*`, which the SDK reads itself.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const dynamoDb = new DynamoDBClient({});

export const documentClient = DynamoDBDocumentClient.from(dynamoDb, {
  marshallOptions: { removeUndefinedValues: true },
});
export const secretsManager = new SecretsManagerClient({});
export const stepFunctions = new SFNClient({});
export const sns = new SNSClient({});
