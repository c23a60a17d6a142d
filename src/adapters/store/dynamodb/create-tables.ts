import {
  type AttributeDefinition, type CreateTableCommandInput, CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand,
  type DynamoDBClient, type KeySchemaElement, type TableDescription, UpdateTableCommand, UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { classifyFailure, isEndpointFailure } from './call-failure.js';
import { backfillMerchantReferences } from './backfill-references.js';
import { DynamoTableError, inspectTables } from './check-tables.js';
import { type ClientOptions, createClient } from './connection.js';
import { translateError } from './errors.js';
import { tableFindings } from './table-findings.js';
import { summaryLine, tableFailureMessage } from './table-messages.js';
import { type IndexDefinition, type KeyAttribute, type TableDefinition, type TableName, TABLES, tableName } from './tables.js';
import { type DynamoLocation, parseDynamoUrl } from './url.js';

/** How long createTables waits for a table and its indexes to become ACTIVE. */
export const TABLE_ACTIVE_WAIT_MS = 5 * 60_000;
const TABLE_POLL_INTERVAL_MS = 500;

export interface CreateTablesOptions extends ClientOptions {
  url: string;
}

/**
 * Creates the store's tables from TABLES (the definitions the CDK stack uses too), for
 * `paylog migrate` against DynamoDB Local or an AWS account without the stack. Idempotent:
 * an existing table is left alone, except that an index it lacks is added and TTL is turned
 * on where the definition expires items (and the endpoint has TTL). It returns once every
 * table is ACTIVE and then checks them all: what it cannot mend in place (a wrong key, an
 * index of the wrong shape) throws a one-line DynamoTableError that says how to fix it.
 * Last, payments stored before the byMerchantReference index get its key (a scan of the
 * payments table: run it once after upgrading, not on every start).
 */
export async function createTables(options: CreateTablesOptions): Promise<void> {
  const location = parseDynamoUrl(options.url);
  const client = createClient(location, options);
  try {
    // Every table is seen to the end before the client closes; the first failure, in TABLES order, is the one reported.
    const ensured = await Promise.allSettled((Object.keys(TABLES) as TableName[]).map((table) => ensureTable(client, location, table)));
    const failed = ensured.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const problem = summaryLine(await inspectTables(location, { client }));
    if (problem !== null) throw new DynamoTableError(problem);
    // Only now that byMerchantReference exists: payments written before it get its key.
    const payments = tableName(location.prefix, 'payments');
    await backfillMerchantReferences(client, payments, (action, work) => attempt(action, payments, location, work));
  } finally {
    client.destroy();
  }
}

async function ensureTable(client: DynamoDBClient, location: DynamoLocation, table: TableName): Promise<void> {
  const name = tableName(location.prefix, table);
  const definition: TableDefinition = TABLES[table];
  const sdk = <T>(action: string, work: () => Promise<T>): Promise<T> => attempt(action, name, location, work);
  if ((await describe(client, name, sdk)) === null) await sdk('CreateTable', () => create(client, createTableInput(name, definition)));
  let existing = await waitUntilActive(client, name, sdk);
  const findings = tableFindings(definition, existing, null);
  // A table with the wrong key must be recreated; adding indexes to it would only be undone.
  if (findings.some((f) => f.kind === 'key_mismatch')) return;
  for (const finding of findings) {
    if (finding.kind !== 'index_missing') continue;
    const index = definition.indexes.find((i) => i.name === finding.index) as IndexDefinition;
    // DynamoDB adds one index per UpdateTable, and only once the table is ACTIVE again.
    await sdk('UpdateTable', () => client.send(new UpdateTableCommand(addIndexInput(name, index, existing))));
    existing = await waitUntilActive(client, name, sdk);
  }
  if (definition.ttlAttribute !== undefined) await enableTtl(client, name, definition.ttlAttribute, sdk);
}

/**
 * Runs one SDK call. A refusal about this table becomes the check's one-line message, naming
 * the IAM action; an endpoint that does not answer is an outage like any store call's
 * (StoreUnavailableError naming only the error), which `paylog migrate` then describes by
 * running the table check.
 */
async function attempt<T>(action: string, name: string, location: DynamoLocation, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DynamoTableError) throw err;
    const failure = classifyFailure(action, err);
    throw isEndpointFailure(failure) ? translateError(err) : new DynamoTableError(tableFailureMessage(name, failure, location));
  }
}

type Sdk = <T>(action: string, work: () => Promise<T>) => Promise<T>;

/** The CreateTable request for a definition: on-demand billing, each index projecting what its definition says. */
export function createTableInput(name: string, definition: TableDefinition): CreateTableCommandInput {
  const attributes = new Map<string, AttributeDefinition>();
  for (const key of [definition.partitionKey, definition.sortKey, ...definition.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
    if (key) attributes.set(key.name, attributeDefinition(key));
  }
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()],
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    ...(definition.indexes.length === 0 ? {} : { GlobalSecondaryIndexes: definition.indexes.map(indexInput) }),
  };
}

/** The UpdateTable request adding one index; a provisioned table needs capacity for it (the table's own). */
function addIndexInput(name: string, index: IndexDefinition, table: TableDescription) {
  const read = table.ProvisionedThroughput?.ReadCapacityUnits ?? 0;
  const write = table.ProvisionedThroughput?.WriteCapacityUnits ?? 0;
  const provisioned = table.BillingModeSummary?.BillingMode !== 'PAY_PER_REQUEST' && read > 0 && write > 0;
  return {
    TableName: name,
    AttributeDefinitions: [index.partitionKey, index.sortKey].filter((k): k is KeyAttribute => k !== undefined).map(attributeDefinition),
    GlobalSecondaryIndexUpdates: [{
      Create: { ...indexInput(index), ...(provisioned ? { ProvisionedThroughput: { ReadCapacityUnits: read, WriteCapacityUnits: write } } : {}) },
    }],
  };
}

function indexInput(index: IndexDefinition) {
  return {
    IndexName: index.name,
    KeySchema: keySchema(index.partitionKey, index.sortKey),
    Projection: { ProjectionType: index.projection ?? 'ALL' },
  };
}

function attributeDefinition(key: KeyAttribute): AttributeDefinition {
  return { AttributeName: key.name, AttributeType: key.type };
}

function keySchema(partitionKey: KeyAttribute, sortKey: KeyAttribute | undefined): KeySchemaElement[] {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

async function describe(client: DynamoDBClient, name: string, sdk: Sdk): Promise<TableDescription | null> {
  return sdk('DescribeTable', async () => {
    try {
      return (await client.send(new DescribeTableCommand({ TableName: name }))).Table ?? null;
    } catch (err) {
      if (err instanceof Error && err.name === 'ResourceNotFoundException') return null;
      throw err;
    }
  });
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

/** Polls until the table and every index are ACTIVE; returns the table as last described. */
async function waitUntilActive(client: DynamoDBClient, name: string, sdk: Sdk): Promise<TableDescription> {
  const deadline = Date.now() + TABLE_ACTIVE_WAIT_MS;
  for (;;) {
    const table = await describe(client, name, sdk);
    const active = table?.TableStatus === 'ACTIVE' && (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (table && active) return table;
    if (Date.now() > deadline) {
      throw new DynamoTableError(`DynamoDB table ${name} did not become ACTIVE within ${TABLE_ACTIVE_WAIT_MS} ms (an index being built on a large table takes longer); run paylog migrate again to keep waiting`);
    }
    await new Promise((resolve) => setTimeout(resolve, TABLE_POLL_INTERVAL_MS));
  }
}

/** Turns TTL on where it is off; TTL on another attribute is left for the check to report (it needs an hour between changes). */
async function enableTtl(client: DynamoDBClient, name: string, attribute: string, sdk: Sdk): Promise<void> {
  const ttl = await sdk('DescribeTimeToLive', async () => {
    try {
      return (await client.send(new DescribeTimeToLiveCommand({ TableName: name }))).TimeToLiveDescription ?? null;
    } catch (err) {
      // Some local emulators have no TTL: expired items are ignored on read and purged instead.
      if (err instanceof Error && err.name === 'UnknownOperationException') return 'unsupported' as const;
      throw err;
    }
  });
  if (ttl === 'unsupported' || (ttl?.TimeToLiveStatus ?? 'DISABLED') !== 'DISABLED') return;
  await sdk('UpdateTimeToLive', () => client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } })));
}
