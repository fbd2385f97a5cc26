import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsHttpHandler } from './aws.ts';

/** The DynamoDB document client of this container (see `aws.ts`). */
export const documentClient = DynamoDBDocumentClient.from(
  new DynamoDBClient({ requestHandler: awsHttpHandler() }),
  {
    marshallOptions: { removeUndefinedValues: true },
  },
);
