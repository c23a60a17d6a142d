import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DescribeTableCommand, DynamoDBClient, ListTablesCommand, type TableDescription } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditRecord, GENESIS_PREV, recordLine } from '../../src/core/audit-record.js';
import {
  TABLES, type TableDefinition, type TableName, createTables, openDynamoStore, tableName,
} from '../../src/adapters/store/dynamodb/index.js';
import { type Store, StoreUnavailableError, StreamConflictError } from '../../src/ports/store.js';
import { StreamBuilder, at, claim, openStream, payment } from '../contract/fixtures.js';
import { DYNAMO_ENV, dynamoEndpoint, freshPrefix } from '../support/dynamodb.js';
import { PAYLOG_BIN, freePort } from '../support/process.js';

let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;
const opened: Store[] = [];

beforeAll(async () => {
  client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamoEndpoint() });
  doc = DynamoDBDocumentClient.from(client);
});

afterAll(async () => {
  for (const store of opened) await store.close();
  client?.destroy();
});

function urlFor(prefix: string): string {
  return `dynamodb://${prefix}?endpoint=${dynamoEndpoint()}`;
}

/** Fresh tables and a store on them. */
async function freshStore(): Promise<{ store: Store; prefix: string }> {
  const prefix = freshPrefix('unit');
  await createTables({ url: urlFor(prefix) });
  const store = await openDynamoStore({ url: urlFor(prefix) });
  opened.push(store);
  return { store, prefix };
}

async function describeTable(name: string): Promise<TableDescription> {
  return (await client.send(new DescribeTableCommand({ TableName: name }))).Table as TableDescription;
}

async function rawItem(prefix: string, table: TableName, key: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
  return (await doc.send(new GetCommand({ TableName: tableName(prefix, table), Key: key, ConsistentRead: true }))).Item;
}

describe('createTables', () => {
  it('creates exactly the tables, keys and indexes of TABLES, and running it again changes nothing', async () => {
    const prefix = freshPrefix('tables');
    await createTables({ url: urlFor(prefix) });
    const before = await Promise.all((Object.keys(TABLES) as TableName[]).map((t) => describeTable(tableName(prefix, t))));
    await createTables({ url: urlFor(prefix) });

    // Every table of the run's DynamoDB Local, page by page: other tests' tables are there too.
    const listed: string[] = [];
    let after: string | undefined;
    do {
      const page = await client.send(new ListTablesCommand(after === undefined ? {} : { ExclusiveStartTableName: after }));
      listed.push(...(page.TableNames ?? []));
      after = page.LastEvaluatedTableName;
    } while (after !== undefined);
    const expectedNames = (Object.keys(TABLES) as TableName[]).map((t) => tableName(prefix, t)).sort();
    expect(listed.filter((n) => n.startsWith(`${prefix}-`)).sort()).toEqual(expectedNames);

    for (const [i, table] of (Object.keys(TABLES) as TableName[]).entries()) {
      const definition: TableDefinition = TABLES[table];
      const description = await describeTable(tableName(prefix, table));
      expect(description.TableStatus).toBe('ACTIVE');
      // Unchanged by the second run (same creation time, same everything).
      expect(description).toEqual(before[i]);

      const types = Object.fromEntries((description.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
      const keyOf = (p: { name: string; type: string }, s?: { name: string; type: string }) =>
        [p, s].filter((k) => k !== undefined).map((k, j) => ({ AttributeName: k.name, KeyType: j === 0 ? 'HASH' : 'RANGE', type: k.type }));
      const schemaOf = (schema: typeof description.KeySchema) =>
        (schema ?? []).map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType, type: types[k.AttributeName as string] }));

      expect(schemaOf(description.KeySchema)).toEqual(keyOf(definition.partitionKey, definition.sortKey));
      const indexes = (description.GlobalSecondaryIndexes ?? []).map((index) => ({
        name: index.IndexName, key: schemaOf(index.KeySchema), projection: index.Projection?.ProjectionType, status: index.IndexStatus,
      }));
      expect(indexes.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual(
        [...definition.indexes].map((index) => ({
          name: index.name,
          key: keyOf(index.partitionKey, index.sortKey),
          projection: index.projection ?? 'ALL',
          status: 'ACTIVE',
        })).sort((a, b) => a.name.localeCompare(b.name)),
      );
      // Only key attributes are declared.
      const keyNames = new Set([definition.partitionKey, definition.sortKey,
        ...definition.indexes.flatMap((index) => [index.partitionKey, index.sortKey])]
        .filter((k) => k !== undefined).map((k) => k.name));
      expect(Object.keys(types).sort()).toEqual([...keyNames].sort());
      expect(description.BillingModeSummary?.BillingMode ?? 'PAY_PER_REQUEST').toBe('PAY_PER_REQUEST');
    }
  });

  it('refuses a table of that name whose keys differ from the definition', async () => {
    const prefix = freshPrefix('clash');
    const other = `dynamodb://${prefix}?endpoint=${dynamoEndpoint()}`;
    const { CreateTableCommand } = await import('@aws-sdk/client-dynamodb');
    await client.send(new CreateTableCommand({
      TableName: tableName(prefix, 'streams'), BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'streamId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'streamId', KeyType: 'HASH' }],
    }));
    await expect(createTables({ url: other })).rejects.toThrow(/exists but does not match its definition: key is \(streamId S HASH\), expected \(id S HASH\)/);
  });
});

describe('DynamoDB store', () => {
  it('stores each record as its exact JSON line and reads it back byte for byte', async () => {
    const { store, prefix } = await freshStore();
    const stream = await openStream(store, 'str_bytes');
    const tricky = stream.next({
      resource: 'txn_bytes',
      data: {
        text: 'naïve ✓ café ☕ 𝄞 "quoted" \\ back\nslash \u2028 \u0000', big: 99_999_999, small: 0.1, exp: 1e21, neg: -0,
        order: { z: 1, a: 2, m: [3, { y: null, b: false }] }, empty: {}, list: [],
      },
    });
    const plain = stream.next({ resource: null });
    await store.journal.commit([{ records: [tricky, plain] }]);

    const item = await rawItem(prefix, 'journal', { stream: 'str_bytes', seq: 1 });
    expect(item?.body).toBe(recordLine(tricky));
    expect(item).toMatchObject({ resource: 'txn_bytes', tsKey: `${tricky.ts}#str_bytes#${'1'.padStart(16, '0')}`, hash: tricky.hash });
    // A record about nothing has no index keys at all (they cannot be null).
    const bare = await rawItem(prefix, 'journal', { stream: 'str_bytes', seq: 2 });
    expect(bare).not.toHaveProperty('resource');
    expect(bare).not.toHaveProperty('tsKey');

    const lines = (await store.journal.readStream('str_bytes', 1, 10)).map((r) => JSON.stringify(r));
    expect(lines).toEqual([recordLine(tricky), recordLine(plain)]);
    expect((await store.journal.readByResource('txn_bytes')).map((r) => JSON.stringify(r))).toEqual([recordLine(tricky)]);
  });

  it('writes attributes named by reserved words (status, size, key, name, stream, resource, data, ts, type)', async () => {
    const { store, prefix } = await freshStore();
    const stream = await openStream(store, 'str_words');
    const paid = payment(1, { status: 'declined', declineCode: 'insufficient_funds' });
    await store.idempotency.claim(claim(0));
    const cpNote = 'paylog-test/str_words\n2\nq83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=\n\n\u2014 k AAAA\n';
    await store.journal.commit([
      { records: [stream.next({ type: 'journal.started', data: { data: 'data', size: 1, status: 'x' } })] },
      { ...stream.paymentUnit(paid), idempotency: { merchantId: 'acme', key: 'key-1', paymentId: paid.id } },
      { records: [], checkpoint: { stream: 'str_words', size: 2, root: 'ab'.repeat(32), note: cpNote, createdAt: at(2) } },
    ]);
    await store.keys.create({ id: 'key_words', merchantId: 'acme', role: 'merchant', name: 'name', secretHash: 'c'.repeat(64), createdAt: at(0), revokedAt: null });

    expect(await rawItem(prefix, 'payments', { id: paid.id })).toMatchObject({ status: 'declined', merchantStatus: 'acme#declined', updatedAt: paid.updatedAt });
    expect(await rawItem(prefix, 'checkpoints', { stream: 'str_words', size: 2 })).toMatchObject({ note: cpNote });
    const key = await rawItem(prefix, 'idempotency', { pk: JSON.stringify(['acme', 'key-1']) });
    expect(key).toMatchObject({ key: 'key-1', merchantId: 'acme', paymentId: paid.id, expiresAtEpoch: Math.ceil(Date.parse(claim(0).expiresAt) / 1000) });
    expect(await rawItem(prefix, 'apiKeys', { id: 'key_words' })).toMatchObject({ name: 'name' });
    expect((await rawItem(prefix, 'journal', { stream: 'str_words', seq: 1 }))?.type).toBe('journal.started');

    expect((await store.payments.list({ merchantId: 'acme', limit: 5, status: 'declined' })).data).toEqual([paid]);
    expect(await store.journal.latestCheckpoint('str_words')).toMatchObject({ size: 2 });
    expect(await store.keys.revoke('key_words', at(5))).toMatchObject({ name: 'name', revokedAt: at(5) });
    expect(await store.journal.closeStream('str_words', 'stopped', 'str_words', at(9))).toBe(true);
    expect((await store.journal.listStreams())[0]).toMatchObject({ state: 'stopped', closedBy: 'str_words', closedAt: at(9) });
  });

  it('still takes a checkpoint for a sealed stream (the sealer saves one), but no records', async () => {
    const { store } = await freshStore();
    const dead = await openStream(store, 'str_dead');
    const sealer = await openStream(store, 'str_sealer');
    await store.journal.commit([{ records: dead.many(2) }, { records: [sealer.next()] }]);
    expect(await store.journal.closeStream('str_dead', 'sealed', 'str_sealer', at(5))).toBe(true);
    const seal = { stream: 'str_dead', size: 2, root: 'cd'.repeat(32), note: 'paylog-test/str_dead\n2\n…\n', createdAt: at(5) };
    await store.journal.commit([{ records: [sealer.next({ type: 'journal.sealed', resource: 'str_dead' })], checkpoint: seal }]);
    expect(await store.journal.latestCheckpoint('str_dead')).toEqual(seal);
    await expect(store.journal.commit([{ records: [dead.next()] }])).rejects.toThrow(/stream str_dead is sealed/);
    expect(await store.journal.head('str_dead')).toMatchObject({ seq: 2 });
  });

  it('of two writers racing to append the same seqs, one wins whole and the other writes nothing', async () => {
    const { store, prefix } = await freshStore();
    const second = await openDynamoStore({ url: urlFor(prefix) });
    opened.push(second);
    const a = await openStream(store, 'str_race');
    await store.journal.commit([{ records: a.many(2) }]);
    const b = new StreamBuilder('str_race');
    b.many(2);
    const batchA = a.many(3, { data: { writer: 'a' } });
    const batchB = b.many(3, { data: { writer: 'b' } });

    const results = await Promise.allSettled([store.journal.commit([{ records: batchA }]), second.journal.commit([{ records: batchB }])]);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect((failed[0] as PromiseRejectedResult).reason).toBeInstanceOf(StreamConflictError);

    const stored = await store.journal.readStream('str_race', 1, 10);
    const winner = results[0]?.status === 'fulfilled' ? batchA : batchB;
    expect(stored.slice(2)).toEqual(winner);
    // Still one gapless chain.
    stored.forEach((record: AuditRecord, i) => {
      expect(record.seq).toBe(i + 1);
      expect(record.prev).toBe(i === 0 ? GENESIS_PREV : stored[i - 1]?.hash);
    });
  });

  it('treats an expired idempotency item as absent although nothing deleted it (TTL deletes late)', async () => {
    const { store, prefix } = await freshStore();
    await store.idempotency.claim(claim(0));
    const ttlMs = Date.parse(claim(0).expiresAt) - Date.parse(claim(0).now);
    expect(await store.idempotency.claim(claim(ttlMs, { fingerprint: 'fp-b' }))).toEqual({ kind: 'claimed' });
    expect(await rawItem(prefix, 'idempotency', { pk: JSON.stringify(['acme', 'key-1']) })).toMatchObject({ fingerprint: 'fp-b' });
    expect(await store.idempotency.purgeExpired(at(ttlMs * 3), 10)).toBe(1);
    expect((await doc.send(new ScanCommand({ TableName: tableName(prefix, 'idempotency') }))).Items).toEqual([]);
  });

  it('reports missing tables as unavailable, naming only the error', async () => {
    const store = await openDynamoStore({ url: urlFor(freshPrefix('missing')) });
    opened.push(store);
    const err = await store.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toBe('DynamoDB store failed (ResourceNotFoundException)');
  });

  it('fails with StoreUnavailableError, naming no address, when the endpoint cannot be reached', async () => {
    const port = await freePort();
    const url = `dynamodb://unreachable?endpoint=http://127.0.0.1:${port}`;
    const store = await openDynamoStore({ url, maxAttempts: 1, connectionTimeoutMs: 500, requestTimeoutMs: 500 });
    opened.push(store);
    const errors = await Promise.all([
      store.ping().catch((e: unknown) => e),
      store.journal.commit([{ records: [new StreamBuilder('str_x').next()] }]).catch((e: unknown) => e),
      store.idempotency.claim(claim(0)).catch((e: unknown) => e),
      createTables({ url, maxAttempts: 1, connectionTimeoutMs: 500 }).catch((e: unknown) => e),
    ]);
    for (const err of errors) {
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toMatch(/^DynamoDB store failed \(\w+\)$/);
      expect((err as Error).message).not.toContain(String(port));
    }
  });
});

describe('paylog migrate --store dynamodb://…', () => {
  it('creates the tables, says they exist, and is idempotent', async () => {
    const prefix = freshPrefix('cli');
    const url = urlFor(prefix);
    const run = () => promisify(execFile)(process.execPath, [PAYLOG_BIN, 'migrate', '--store', url], {
      env: { ...process.env, ...DYNAMO_ENV, PAYLOG_LOG_LEVEL: 'silent' }, timeout: 30_000,
    });
    const first = await run();
    const names = (Object.keys(TABLES) as TableName[]).map((t) => tableName(prefix, t));
    expect(first.stdout).toBe(`Tables of ${url} exist and are active: ${names.join(', ')}.\nSchema of ${url} is up to date.\n`);
    expect(first.stderr).toBe('');
    for (const name of names) expect((await describeTable(name)).TableStatus).toBe('ACTIVE');
    expect((await run()).stdout).toBe(first.stdout);
  });
});
