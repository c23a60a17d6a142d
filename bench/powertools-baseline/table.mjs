// The baseline's idempotency table, as the Powertools idempotency docs specify it: partition
// key `id` (a string), on-demand capacity, and TTL on `expiration` so finished keys expire.
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';

/** How long to wait for the new table to become active. */
const TABLE_ACTIVE_WAIT_S = 30;

export async function createIdempotencyTable({ endpoint, region, credentials, tableName }) {
  const client = new DynamoDBClient({ endpoint, region, credentials });
  try {
    await client.send(new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    await waitUntilTableExists({ client, maxWaitTime: TABLE_ACTIVE_WAIT_S }, { TableName: tableName });
    await client.send(new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { Enabled: true, AttributeName: 'expiration' },
    }));
  } finally {
    client.destroy();
  }
}
