// What DynamoDB requests alone cost, for lambda-warm: bare SDK calls of the kinds paylog and the
// Powertools baseline make per invocation, against the same DynamoDB Local in the same run, with
// items of about their sizes and none of either handler's code. paylog's requests depend on one
// another (claim, then payment.received, then the gateway, then the outcome), so their sum is
// the least a paylog invocation of this design can take here.
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { median } from './lib.mjs';

const TABLES = ['floor-a', 'floor-b', 'floor-c'];
const TABLE_ACTIVE_WAIT_S = 30;
const WARMUP_CALLS = 200;
const MEASURED_CALLS = 600;
/** About a journal record's, a payment's or a stored response's size as paylog writes them. */
const ITEM_BYTES = 1_000;

const body = () => randomBytes(ITEM_BYTES / 2).toString('hex');
const put = (table, id) => ({ Put: { TableName: table, Item: { id, body: body() }, ConditionExpression: 'attribute_not_exists(id)' } });
const transaction = (doc, items) => (id) => doc.send(new TransactWriteCommand({
  TransactItems: Array.from({ length: items }, (_, i) => put(TABLES[i % TABLES.length], `${id}-${i}`)),
}));

/** The request kinds, each a function of a fresh item ID. */
function kinds(doc) {
  return {
    putItem: (id) => doc.send(new PutCommand({ TableName: TABLES[0], Item: { id, body: body() }, ConditionExpression: 'attribute_not_exists(id)' })),
    updateItem: (id) => doc.send(new UpdateCommand({
      TableName: TABLES[1], Key: { id }, UpdateExpression: 'SET #body = :body', ExpressionAttributeNames: { '#body': 'body' }, ExpressionAttributeValues: { ':body': body() },
    })),
    transaction4: transaction(doc, 4),
    transaction5: transaction(doc, 5),
  };
}

/** p50 in ms of each request kind, measured one call at a time. */
export async function requestFloors({ endpoint, region, credentials }) {
  const client = new DynamoDBClient({ endpoint, region, credentials });
  const doc = DynamoDBDocumentClient.from(client);
  try {
    for (const table of TABLES) {
      await client.send(new CreateTableCommand({
        TableName: table, BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }));
      await waitUntilTableExists({ client, maxWaitTime: TABLE_ACTIVE_WAIT_S }, { TableName: table });
    }
    const p50s = {};
    let n = 0;
    for (const [name, call] of Object.entries(kinds(doc))) {
      for (let i = 0; i < WARMUP_CALLS; i++) await call(`w${n++}`);
      const timings = [];
      for (let i = 0; i < MEASURED_CALLS; i++) {
        const started = performance.now();
        await call(`m${n++}`);
        timings.push(performance.now() - started);
      }
      p50s[name] = median(timings);
    }
    return p50s;
  } finally {
    client.destroy();
  }
}
