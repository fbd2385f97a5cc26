import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createTable } from '../../functions/store/table-definition.ts';

export interface TestTable {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
  /** Deletes the table and releases the clients' sockets. */
  destroy(): Promise<void>;
}

/** A client for the run's DynamoDB Local (started by `dynamodb-global-setup.ts`). */
export function localDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: inject('dynamodbEndpoint'),
    region: 'us-east-1',
    // DynamoDB Local accepts any credentials made of letters and digits; these are not secrets.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** A freshly created state table with a unique name, so test files never see each other's items. */
export async function createTestTable(prefix = 'test'): Promise<TestTable> {
  const tableName = `${prefix}-${randomUUID()}`;
  const client = localDynamoDbClient();
  await createTable(client, tableName);
  // Default marshalling on purpose: code under test must not rely on `removeUndefinedValues`.
  const documentClient = DynamoDBDocumentClient.from(client);
  return {
    tableName,
    client,
    documentClient,
    async destroy() {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}
