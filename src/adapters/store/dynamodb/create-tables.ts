import {
  type AttributeDefinition, type CreateTableCommandInput, CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand,
  type DynamoDBClient, type KeySchemaElement, type TableDescription, UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { type ClientOptions, createClient } from './connection.js';
import { translateError } from './errors.js';
import { type KeyAttribute, type TableDefinition, type TableName, TABLES, tableName } from './tables.js';
import { parseDynamoUrl } from './url.js';

/** How long createTables waits for a table and its indexes to become ACTIVE. */
export const TABLE_ACTIVE_WAIT_MS = 5 * 60_000;
const TABLE_POLL_INTERVAL_MS = 500;

export interface CreateTablesOptions extends ClientOptions {
  url: string;
}

/**
 * Creates the store's tables from TABLES (the definitions the CDK stack uses too), for
 * `paylog migrate` against dynalite, DynamoDB Local or a scratch AWS account. Idempotent:
 * an existing table is left alone (after checking its keys and indexes match), and the
 * call returns once every table is ACTIVE. TTL is turned on where a table defines it and
 * the endpoint supports it (dynalite does not; that is ignored).
 */
export async function createTables(options: CreateTablesOptions): Promise<void> {
  const location = parseDynamoUrl(options.url);
  const client = createClient(location, options);
  try {
    await Promise.all((Object.keys(TABLES) as TableName[]).map(async (table) => {
      const name = tableName(location.prefix, table);
      const definition: TableDefinition = TABLES[table];
      const existing = await describe(client, name);
      if (existing) {
        const mismatch = describeMismatch(definition, existing);
        if (mismatch) throw new Error(`DynamoDB table ${name} exists but does not match its definition: ${mismatch}`);
      } else {
        await create(client, createTableInput(name, definition));
      }
      await waitUntilActive(client, name);
      if (definition.ttlAttribute !== undefined) await enableTtl(client, name, definition.ttlAttribute);
    }));
  } catch (err) {
    throw err instanceof Error && err.message.startsWith('DynamoDB table ') ? err : translateError(err);
  } finally {
    client.destroy();
  }
}

/** The CreateTable request for a definition: on-demand billing, each index projecting what its definition says. */
export function createTableInput(name: string, definition: TableDefinition): CreateTableCommandInput {
  const attributes = new Map<string, AttributeDefinition>();
  const add = (key: KeyAttribute | undefined): void => {
    if (key) attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  };
  add(definition.partitionKey);
  add(definition.sortKey);
  for (const index of definition.indexes) {
    add(index.partitionKey);
    add(index.sortKey);
  }
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()],
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    ...(definition.indexes.length === 0 ? {} : {
      GlobalSecondaryIndexes: definition.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: keySchema(index.partitionKey, index.sortKey),
        Projection: { ProjectionType: index.projection ?? 'ALL' },
      })),
    }),
  };
}

function keySchema(partitionKey: KeyAttribute, sortKey: KeyAttribute | undefined): KeySchemaElement[] {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

/** What differs between a table's definition and an existing table (keys and index keys), or null. */
export function describeMismatch(definition: TableDefinition, table: TableDescription): string | null {
  const types = new Map((table.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
  const actual = (schema: KeySchemaElement[] | undefined): string =>
    (schema ?? []).map((k) => `${k.AttributeName} ${types.get(k.AttributeName) ?? '?'} ${k.KeyType}`).join(', ');
  const wanted = (partitionKey: KeyAttribute, sortKey?: KeyAttribute): string =>
    [partitionKey, sortKey].filter((k): k is KeyAttribute => k !== undefined)
      .map((k, i) => `${k.name} ${k.type} ${i === 0 ? 'HASH' : 'RANGE'}`).join(', ');

  const key = actual(table.KeySchema);
  const keyWanted = wanted(definition.partitionKey, definition.sortKey);
  if (key !== keyWanted) return `key is (${key}), expected (${keyWanted})`;
  const indexes = new Map((table.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, actual(i.KeySchema)]));
  for (const index of definition.indexes) {
    const found = indexes.get(index.name);
    const indexWanted = wanted(index.partitionKey, index.sortKey);
    if (found === undefined) return `index ${index.name} is missing`;
    if (found !== indexWanted) return `index ${index.name} is (${found}), expected (${indexWanted})`;
  }
  return null;
}

async function describe(client: DynamoDBClient, name: string): Promise<TableDescription | null> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table ?? null;
  } catch (err) {
    if (err instanceof Error && err.name === 'ResourceNotFoundException') return null;
    throw err;
  }
}

async function create(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (err) {
    // Another migrate created it in the meantime.
    if (err instanceof Error && err.name === 'ResourceInUseException') return;
    throw err;
  }
}

/** Polls until the table and every index are ACTIVE (at once on dynalite with createTableMs 0). */
async function waitUntilActive(client: DynamoDBClient, name: string): Promise<void> {
  const deadline = Date.now() + TABLE_ACTIVE_WAIT_MS;
  for (;;) {
    const table = await describe(client, name);
    const active = table?.TableStatus === 'ACTIVE' && (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (active) return;
    if (Date.now() > deadline) throw new Error(`DynamoDB table ${name} did not become ACTIVE within ${TABLE_ACTIVE_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, TABLE_POLL_INTERVAL_MS));
  }
}

async function enableTtl(client: DynamoDBClient, name: string, attribute: string): Promise<void> {
  try {
    const { TimeToLiveDescription: ttl } = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    if (ttl?.AttributeName === attribute && (ttl.TimeToLiveStatus === 'ENABLED' || ttl.TimeToLiveStatus === 'ENABLING')) return;
    await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }));
  } catch (err) {
    // dynalite (and some local emulators) have no TTL: expired items are ignored on read and purged instead.
    if (err instanceof Error && err.name === 'UnknownOperationException') return;
    throw err;
  }
}
