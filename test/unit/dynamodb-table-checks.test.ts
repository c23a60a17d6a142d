import { createServer } from 'node:net';
import { once } from 'node:events';
import {
  type CreateTableCommandInput, CreateTableCommand, DynamoDBClient, type TableDescription, UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyFailure } from '../../src/adapters/store/dynamodb/call-failure.js';
import { DynamoTableError, checkTables, inspectTables } from '../../src/adapters/store/dynamodb/check-tables.js';
import { createTableInput, createTables } from '../../src/adapters/store/dynamodb/create-tables.js';
import { type TableFinding, tableFindings } from '../../src/adapters/store/dynamodb/table-findings.js';
import { findingMessage, summaryLine, tableFailureMessage, endpointFailureMessage } from '../../src/adapters/store/dynamodb/table-messages.js';
import { TABLES, type TableDefinition, type TableName, tableName } from '../../src/adapters/store/dynamodb/tables.js';
import { type DynamoLocation, parseDynamoUrl } from '../../src/adapters/store/dynamodb/url.js';
import { dynamoEndpoint, dynamoUrl, freshPrefix } from '../support/dynamodb.js';
import { freePort } from '../support/process.js';

const TABLE_NAMES = Object.keys(TABLES) as TableName[];

/** What DescribeTable answers for a table made from its definition, with every index ACTIVE. */
function described(name: string, definition: TableDefinition, change: (input: CreateTableCommandInput) => void = () => undefined): TableDescription {
  const input = createTableInput(name, definition);
  change(input);
  return {
    TableName: name,
    TableStatus: 'ACTIVE',
    AttributeDefinitions: input.AttributeDefinitions,
    KeySchema: input.KeySchema,
    ...(input.GlobalSecondaryIndexes && { GlobalSecondaryIndexes: input.GlobalSecondaryIndexes.map((i) => ({ ...i, IndexStatus: 'ACTIVE' as const })) }),
  };
}

const ON = (attribute: string) => ({ TimeToLiveStatus: 'ENABLED' as const, AttributeName: attribute });
const OFF = { TimeToLiveStatus: 'DISABLED' as const };

describe('tableFindings (definition + DescribeTable + DescribeTimeToLive → findings)', () => {
  it('finds nothing wrong with any table made from its definition', () => {
    for (const table of TABLE_NAMES) {
      const definition: TableDefinition = TABLES[table];
      const ttl = definition.ttlAttribute === undefined ? OFF : ON(definition.ttlAttribute);
      expect(tableFindings(definition, described('p', definition), ttl), table).toEqual([]);
    }
  });

  it('a missing table is one finding, whatever else', () => {
    expect(tableFindings(TABLES.journal, null, null)).toEqual([{ kind: 'table_missing' }]);
  });

  it('a wrong partition key name, a wrong sort key type, a missing sort key', () => {
    const renamed = described('p', TABLES.streams, (t) => {
      t.KeySchema = [{ AttributeName: 'streamId', KeyType: 'HASH' }];
      t.AttributeDefinitions = [...(t.AttributeDefinitions ?? []), { AttributeName: 'streamId', AttributeType: 'S' }];
    });
    expect(tableFindings(TABLES.streams, renamed, OFF)).toEqual([{ kind: 'key_mismatch', found: '(streamId S HASH)', expected: '(id S HASH)' }]);

    const retyped = described('p', TABLES.journal, (t) => {
      t.AttributeDefinitions = t.AttributeDefinitions?.map((a) => (a.AttributeName === 'seq' ? { ...a, AttributeType: 'S' as const } : a));
    });
    expect(tableFindings(TABLES.journal, retyped, OFF)).toEqual([{ kind: 'key_mismatch', found: '(stream S HASH, seq S RANGE)', expected: '(stream S HASH, seq N RANGE)' }]);

    const unsorted = described('p', TABLES.checkpoints, (t) => { t.KeySchema = t.KeySchema?.slice(0, 1); });
    expect(tableFindings(TABLES.checkpoints, unsorted, OFF)).toEqual([{ kind: 'key_mismatch', found: '(stream S HASH)', expected: '(stream S HASH, size N RANGE)' }]);
  });

  it('a missing index, an index with other keys, an index with another projection', () => {
    const noStatus = described('p', TABLES.payments, (t) => { t.GlobalSecondaryIndexes = t.GlobalSecondaryIndexes?.filter((i) => i.IndexName !== 'byStatus'); });
    expect(tableFindings(TABLES.payments, noStatus, OFF)).toEqual([
      { kind: 'index_missing', index: 'byStatus', expected: '(status S HASH, updatedAt S RANGE) projecting ALL' },
    ]);

    const hashOnly = described('p', TABLES.journal, (t) => { t.GlobalSecondaryIndexes![0]!.KeySchema = [{ AttributeName: 'resource', KeyType: 'HASH' }]; });
    expect(tableFindings(TABLES.journal, hashOnly, OFF)).toEqual([
      { kind: 'index_mismatch', index: 'byResource', found: '(resource S HASH) projecting ALL', expected: '(resource S HASH, tsKey S RANGE) projecting ALL' },
    ]);

    const projectingAll = described('p', TABLES.streams, (t) => { t.GlobalSecondaryIndexes![0]!.Projection = { ProjectionType: 'ALL' }; });
    expect(tableFindings(TABLES.streams, projectingAll, OFF)).toEqual([{
      kind: 'index_mismatch', index: 'byOpenLease',
      found: '(open S HASH, leaseExpiresAt S RANGE) projecting ALL', expected: '(open S HASH, leaseExpiresAt S RANGE) projecting KEYS_ONLY',
    }]);
  });

  it('a table or an index not ACTIVE (UPDATING works, so it passes)', () => {
    const creating = { ...described('p', TABLES.apiKeys), TableStatus: 'CREATING' as const };
    creating.GlobalSecondaryIndexes![0]!.IndexStatus = 'CREATING';
    expect(tableFindings(TABLES.apiKeys, creating, OFF)).toEqual([
      { kind: 'table_not_active', status: 'CREATING' },
      { kind: 'index_not_active', index: 'bySecretHash', status: 'CREATING' },
    ]);
    expect(tableFindings(TABLES.apiKeys, { ...described('p', TABLES.apiKeys), TableStatus: 'UPDATING' }, OFF)).toEqual([]);
  });

  it('TTL off, turning off, on another attribute, on where nothing expires; ENABLING passes; no TTL at the endpoint is not judged', () => {
    const idempotency = described('p', TABLES.idempotency);
    expect(tableFindings(TABLES.idempotency, idempotency, OFF)).toEqual([{ kind: 'ttl_off', attribute: 'expiresAtEpoch', status: 'DISABLED' }]);
    expect(tableFindings(TABLES.idempotency, idempotency, {})).toEqual([{ kind: 'ttl_off', attribute: 'expiresAtEpoch', status: 'DISABLED' }]);
    expect(tableFindings(TABLES.idempotency, idempotency, { TimeToLiveStatus: 'DISABLING', AttributeName: 'expiresAtEpoch' }))
      .toEqual([{ kind: 'ttl_off', attribute: 'expiresAtEpoch', status: 'DISABLING' }]);
    expect(tableFindings(TABLES.idempotency, idempotency, ON('expiresAt'))).toEqual([{ kind: 'ttl_other_attribute', attribute: 'expiresAtEpoch', found: 'expiresAt' }]);
    expect(tableFindings(TABLES.idempotency, idempotency, { TimeToLiveStatus: 'ENABLING', AttributeName: 'expiresAtEpoch' })).toEqual([]);
    expect(tableFindings(TABLES.idempotency, idempotency, null)).toEqual([]);
    expect(tableFindings(TABLES.journal, described('p', TABLES.journal), ON('seq'))).toEqual([{ kind: 'ttl_unexpected', found: 'seq' }]);
  });
});

describe('the one-line messages', () => {
  const aws: DynamoLocation = { prefix: 'paylog-prod', region: 'eu-west-1' };
  const local: DynamoLocation = { prefix: 'dev', region: 'us-east-1', endpoint: 'http://127.0.0.1:8000' };
  const message = (finding: TableFinding, location = aws, name = 'paylog-prod-journal') => findingMessage(name, finding, location);

  it('a missing table names the region and endpoint looked in, and the migrate command', () => {
    expect(message({ kind: 'table_missing' })).toBe(
      'DynamoDB table paylog-prod-journal was not found in region eu-west-1 (endpoint https://dynamodb.eu-west-1.amazonaws.com), where paylog expects it; '
      + 'tables are regional, so one created in another region is not seen here. Create it with: paylog migrate --store dynamodb://paylog-prod?region=eu-west-1');
    expect(message({ kind: 'table_missing' }, local, 'dev-journal')).toBe(
      'DynamoDB table dev-journal was not found in region us-east-1 (endpoint http://127.0.0.1:8000), where paylog expects it; '
      + "tables are regional, so one created in another region is not seen here. Create it with: paylog migrate --store 'dynamodb://dev?region=us-east-1&endpoint=http://127.0.0.1:8000'");
    expect(message({ kind: 'table_missing' }, { prefix: 'p', region: 'cn-north-1' }, 'p-journal')).toContain('(endpoint https://dynamodb.cn-north-1.amazonaws.com.cn)');
  });

  it('a wrong key says the table must be recreated', () => {
    expect(message({ kind: 'key_mismatch', found: '(stream S HASH, seq S RANGE)', expected: '(stream S HASH, seq N RANGE)' })).toBe(
      'DynamoDB table paylog-prod-journal exists but does not match its definition: key is (stream S HASH, seq S RANGE), expected (stream S HASH, seq N RANGE); '
      + "a table's key cannot change in place, so the table must be recreated: back up its items, delete it, then run paylog migrate --store dynamodb://paylog-prod?region=eu-west-1");
  });

  it('a missing index is added by migrate; an index of another shape must be deleted first', () => {
    expect(message({ kind: 'index_missing', index: 'byResource', expected: '(resource S HASH, tsKey S RANGE) projecting ALL' })).toBe(
      'DynamoDB table paylog-prod-journal exists but does not match its definition: index byResource is missing, expected (resource S HASH, tsKey S RANGE) projecting ALL; '
      + 'add it with: paylog migrate --store dynamodb://paylog-prod?region=eu-west-1');
    expect(message({ kind: 'index_mismatch', index: 'byOpenLease', found: '(open S HASH) projecting ALL', expected: '(open S HASH, leaseExpiresAt S RANGE) projecting KEYS_ONLY' }, local, 'dev-streams')).toBe(
      'DynamoDB table dev-streams exists but does not match its definition: index byOpenLease is (open S HASH) projecting ALL, expected (open S HASH, leaseExpiresAt S RANGE) projecting KEYS_ONLY; '
      + 'an index cannot change in place: delete it with aws dynamodb update-table --table-name dev-streams --global-secondary-index-updates \'[{"Delete":{"IndexName":"byOpenLease"}}]\' '
      + "--region us-east-1 --endpoint-url http://127.0.0.1:8000, then once it is gone run paylog migrate --store 'dynamodb://dev?region=us-east-1&endpoint=http://127.0.0.1:8000'");
  });

  it('a table not ACTIVE: wait, or what its state asks for', () => {
    expect(message({ kind: 'table_not_active', status: 'CREATING' })).toBe(
      'DynamoDB table paylog-prod-journal is CREATING, expected ACTIVE; wait until it is (aws dynamodb wait table-exists --table-name paylog-prod-journal --region eu-west-1), then try again');
    expect(message({ kind: 'table_not_active', status: 'INACCESSIBLE_ENCRYPTION_CREDENTIALS' })).toBe(
      "DynamoDB table paylog-prod-journal is INACCESSIBLE_ENCRYPTION_CREDENTIALS, expected ACTIVE; DynamoDB cannot use the table's KMS key: restore access to the key (its key policy, or enable it if disabled)");
    expect(message({ kind: 'index_not_active', index: 'byResource', status: 'CREATING' })).toBe(
      'DynamoDB table paylog-prod-journal: index byResource is CREATING, expected ACTIVE; wait until it is (aws dynamodb describe-table --table-name paylog-prod-journal --region eu-west-1 shows its IndexStatus), then try again');
  });

  it('TTL: the exact aws command, or migrate', () => {
    expect(message({ kind: 'ttl_off', attribute: 'expiresAtEpoch', status: 'DISABLED' }, aws, 'paylog-prod-idempotency')).toBe(
      'DynamoDB table paylog-prod-idempotency has TTL DISABLED, expected ENABLED on expiresAtEpoch (otherwise expired items are never deleted); enable it with: '
      + 'aws dynamodb update-time-to-live --table-name paylog-prod-idempotency --time-to-live-specification Enabled=true,AttributeName=expiresAtEpoch --region eu-west-1 '
      + '(or paylog migrate --store dynamodb://paylog-prod?region=eu-west-1)');
    expect(message({ kind: 'ttl_unexpected', found: 'seq' })).toBe(
      'DynamoDB table paylog-prod-journal has TTL ENABLED on seq, expected it off (DynamoDB would delete every item whose seq holds a past epoch time); turn it off with: '
      + 'aws dynamodb update-time-to-live --table-name paylog-prod-journal --time-to-live-specification Enabled=false,AttributeName=seq --region eu-west-1');
    expect(message({ kind: 'ttl_other_attribute', attribute: 'expiresAtEpoch', found: 'expiresAt' }, aws, 'paylog-prod-idempotency')).toBe(
      'DynamoDB table paylog-prod-idempotency has TTL ENABLED on expiresAt, expected it on expiresAtEpoch; turn it off with '
      + 'aws dynamodb update-time-to-live --table-name paylog-prod-idempotency --time-to-live-specification Enabled=false,AttributeName=expiresAt --region eu-west-1, '
      + 'then (DynamoDB allows the next change up to an hour later) on with '
      + 'aws dynamodb update-time-to-live --table-name paylog-prod-idempotency --time-to-live-specification Enabled=true,AttributeName=expiresAtEpoch --region eu-west-1');
  });

  it('AccessDenied names the IAM action and who grants it; bad credentials and a silent endpoint name the endpoint', () => {
    expect(tableFailureMessage('paylog-prod-journal', classifyFailure('DescribeTable', { name: 'AccessDeniedException' }), aws)).toBe(
      'DynamoDB table paylog-prod-journal: access denied to dynamodb:DescribeTable (AccessDeniedException); expected the IAM policy of these credentials to allow '
      + "dynamodb:DescribeTable on the table: grant it (the CDK stack in infra/ grants it to the function's role)");
    expect(tableFailureMessage('paylog-prod-journal', classifyFailure('CreateTable', { name: 'AccessDeniedException' }), aws)).toBe(
      'DynamoDB table paylog-prod-journal: access denied to dynamodb:CreateTable (AccessDeniedException); expected the IAM policy of these credentials to allow '
      + 'dynamodb:CreateTable on the table: grant it to whoever runs paylog migrate (the CDK stack in infra/ creates the tables without it)');
    expect(endpointFailureMessage(classifyFailure('DescribeTable', { name: 'UnrecognizedClientException' }), aws)).toBe(
      'DynamoDB endpoint https://dynamodb.eu-west-1.amazonaws.com (region eu-west-1) rejected the AWS credentials (UnrecognizedClientException); '
      + 'expected a valid access key for this account and region: check AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (aws sts get-caller-identity shows whose they are)');
    expect(endpointFailureMessage(classifyFailure('DescribeTable', { name: 'CredentialsProviderError' }), aws)).toBe(
      'No AWS credentials found to call DynamoDB in region eu-west-1 (CredentialsProviderError); expected AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the role of the machine or function');
    expect(endpointFailureMessage(classifyFailure('DescribeTable', { name: 'Error', code: 'ENOTFOUND' }), { prefix: 'p', region: 'eu-wset-1' })).toBe(
      'DynamoDB endpoint https://dynamodb.eu-wset-1.amazonaws.com (region eu-wset-1) does not answer (ENOTFOUND); expected DynamoDB there: '
      + 'check the region and endpoint of --store (PAYLOG_STORE) and that this machine can reach it');
    expect(endpointFailureMessage(classifyFailure('DescribeTable', { name: 'Unknown', $metadata: { httpStatusCode: 404 } }), local)).toBe(
      'DynamoDB endpoint http://127.0.0.1:8000 (region us-east-1) answered, but not as DynamoDB (HTTP 404); expected the DynamoDB API there: check the endpoint of --store (PAYLOG_STORE)');
  });

  it('classifies by name or code only', () => {
    expect(classifyFailure('DescribeTable', Object.assign(new Error('Requested resource not found: Table: x not found'), { name: 'ResourceNotFoundException' })))
      .toEqual({ kind: 'missing', action: 'dynamodb:DescribeTable', code: 'ResourceNotFoundException' });
    expect(classifyFailure('DescribeTable', { name: 'TimeoutError', code: 'ETIMEDOUT' })).toMatchObject({ kind: 'unreachable', code: 'ETIMEDOUT' });
    expect(classifyFailure('DescribeTable', { name: 'AbortError' })).toMatchObject({ kind: 'unreachable' });
    expect(classifyFailure('DescribeTable', { name: 'ExpiredTokenException' })).toMatchObject({ kind: 'credentials' });
    expect(classifyFailure('DescribeTimeToLive', { name: 'UnknownOperationException' })).toMatchObject({ kind: 'unsupported' });
    expect(classifyFailure('DescribeTable', { name: 'SyntaxError', $metadata: { httpStatusCode: 200 } })).toMatchObject({ kind: 'not_dynamodb', code: 'HTTP 200, not JSON' });
    expect(classifyFailure('DescribeTable', { name: 'ThrottlingException' })).toEqual({ kind: 'other', action: 'dynamodb:DescribeTable', code: 'ThrottlingException' });
    expect(classifyFailure('DescribeTable', 'a string')).toEqual({ kind: 'other', action: 'dynamodb:DescribeTable', code: 'Error' });
  });
});

describe('the table checks against DynamoDB Local', () => {
  let client: DynamoDBClient;
  beforeAll(() => {
    client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamoEndpoint() });
  });
  afterAll(() => client?.destroy());

  const endpoint = () => dynamoEndpoint();
  const store = (prefix: string) => `'dynamodb://${prefix}?region=us-east-1&endpoint=${endpoint()}'`;

  /** Every table of a fresh prefix as defined (TTL on), except those given: made from the altered input, or left out (null). */
  async function tables(prefix: string, broken: Partial<Record<TableName, ((input: CreateTableCommandInput) => void) | null>> = {}, ttl = true): Promise<void> {
    await Promise.all(TABLE_NAMES.map(async (table) => {
      const change = broken[table];
      if (change === null) return;
      const input = createTableInput(tableName(prefix, table), TABLES[table]);
      change?.(input);
      await client.send(new CreateTableCommand(input));
      const attribute = (TABLES[table] as TableDefinition).ttlAttribute;
      if (ttl && attribute !== undefined) {
        await client.send(new UpdateTimeToLiveCommand({ TableName: input.TableName, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }));
      }
    }));
  }

  /** A table keyed on one string attribute, the only one it declares (an index may use it too). */
  const keyedOn = (attribute: string) => (t: CreateTableCommandInput): void => {
    t.KeySchema = [{ AttributeName: attribute, KeyType: 'HASH' }];
    t.AttributeDefinitions = [{ AttributeName: attribute, AttributeType: 'S' }];
  };

  async function line(prefix: string, url = dynamoUrl(prefix)): Promise<string | null> {
    return summaryLine(await inspectTables(parseDynamoUrl(url)));
  }

  it('tables made by createTables pass, and checkTables resolves', async () => {
    const prefix = freshPrefix('chk-ok');
    await createTables({ url: dynamoUrl(prefix) });
    expect(await line(prefix)).toBeNull();
    await expect(checkTables(dynamoUrl(prefix))).resolves.toBeUndefined();
  });

  it('a missing table', async () => {
    const prefix = freshPrefix('chk-gone');
    await tables(prefix, { checkpoints: null });
    expect(await line(prefix)).toBe(
      `DynamoDB table ${prefix}-checkpoints was not found in region us-east-1 (endpoint ${endpoint()}), where paylog expects it; `
      + `tables are regional, so one created in another region is not seen here. Create it with: paylog migrate --store ${store(prefix)}`);
  });

  it('tables made in us-east-1 are missing in eu-west-1 (DynamoDB Local keeps one database per region)', async () => {
    const prefix = freshPrefix('chk-region');
    await createTables({ url: dynamoUrl(prefix) });
    const elsewhere = `${dynamoUrl(prefix)}&region=eu-west-1`;
    expect(await line(prefix, elsewhere)).toBe(
      `DynamoDB table ${prefix}-streams was not found in region eu-west-1 (endpoint ${endpoint()}), where paylog expects it, nor were the other ${TABLE_NAMES.length - 1} tables of prefix ${prefix}; `
      + 'tables are regional, so tables created in another region are not seen here. '
      + `Create them with: paylog migrate --store 'dynamodb://${prefix}?region=eu-west-1&endpoint=${endpoint()}'`);
  });

  it('a wrong partition key name', async () => {
    const prefix = freshPrefix('chk-keyname');
    await tables(prefix, { gatewayLedger: keyedOn('key') });
    expect(await line(prefix)).toBe(
      `DynamoDB table ${prefix}-gateway-ledger exists but does not match its definition: key is (key S HASH), expected (gatewayKey S HASH); `
      + `a table's key cannot change in place, so the table must be recreated: back up its items, delete it, then run paylog migrate --store ${store(prefix)}`);
  });

  it('a wrong sort key type', async () => {
    const prefix = freshPrefix('chk-keytype');
    await tables(prefix, { checkpoints: (t) => { t.AttributeDefinitions = [{ AttributeName: 'stream', AttributeType: 'S' }, { AttributeName: 'size', AttributeType: 'S' }]; } });
    expect(await line(prefix)).toBe(
      `DynamoDB table ${prefix}-checkpoints exists but does not match its definition: key is (stream S HASH, size S RANGE), expected (stream S HASH, size N RANGE); `
      + `a table's key cannot change in place, so the table must be recreated: back up its items, delete it, then run paylog migrate --store ${store(prefix)}`);
  });

  it('a missing index is reported, then added by createTables (paylog migrate)', async () => {
    // In a region of its own, which DynamoDB Local keeps as a separate, nearly empty database:
    // with the hundreds of tables the rest of a run leaves in the shared one, DynamoDB Local
    // was seen never to finish building an added index (CREATING for minutes, nothing else busy).
    const region = 'eu-north-1';
    const regional = new DynamoDBClient({ region, endpoint: dynamoEndpoint() });
    const prefix = freshPrefix('chk-index');
    const url = `dynamodb://${prefix}?region=${region}&endpoint=${dynamoEndpoint()}`;
    try {
      await Promise.all(TABLE_NAMES.map(async (table) => {
        const input = createTableInput(tableName(prefix, table), TABLES[table]);
        if (table === 'payments') input.GlobalSecondaryIndexes = input.GlobalSecondaryIndexes?.filter((i) => i.IndexName !== 'byMerchantStatus');
        await regional.send(new CreateTableCommand(input));
        const attribute = (TABLES[table] as TableDefinition).ttlAttribute;
        if (attribute !== undefined) await regional.send(new UpdateTimeToLiveCommand({ TableName: input.TableName, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }));
      }));
      expect(await line(prefix, url)).toBe(
        `DynamoDB table ${prefix}-payments exists but does not match its definition: index byMerchantStatus is missing, expected (merchantStatus S HASH, id S RANGE) projecting ALL; `
        + `add it with: paylog migrate --store '${url}'`);
      await createTables({ url });
      expect(await line(prefix, url)).toBeNull();
    } finally {
      regional.destroy();
    }
  }, 60_000);

  it('TTL off is reported, then turned on by createTables (paylog migrate)', async () => {
    const prefix = freshPrefix('chk-ttl');
    await tables(prefix, {}, false);
    expect(await line(prefix)).toBe(
      `DynamoDB table ${prefix}-idempotency has TTL DISABLED, expected ENABLED on expiresAtEpoch (otherwise expired items are never deleted); enable it with: `
      + `aws dynamodb update-time-to-live --table-name ${prefix}-idempotency --time-to-live-specification Enabled=true,AttributeName=expiresAtEpoch --region us-east-1 --endpoint-url ${endpoint()} `
      + `(or paylog migrate --store ${store(prefix)})`);
    await createTables({ url: dynamoUrl(prefix) });
    expect(await line(prefix)).toBeNull();
  });

  it('TTL on the journal would delete records: reported, and left for a person to turn off', async () => {
    const prefix = freshPrefix('chk-ttljournal');
    await tables(prefix);
    await client.send(new UpdateTimeToLiveCommand({ TableName: `${prefix}-journal`, TimeToLiveSpecification: { AttributeName: 'seq', Enabled: true } }));
    const expected = `DynamoDB table ${prefix}-journal has TTL ENABLED on seq, expected it off (DynamoDB would delete every item whose seq holds a past epoch time); `
      + `turn it off with: aws dynamodb update-time-to-live --table-name ${prefix}-journal --time-to-live-specification Enabled=false,AttributeName=seq --region us-east-1 --endpoint-url ${endpoint()}`;
    expect(await line(prefix)).toBe(expected);
    await expect(createTables({ url: dynamoUrl(prefix) })).rejects.toThrow(expected);
  });

  it('several problems: the first, and how many more', async () => {
    const prefix = freshPrefix('chk-many');
    await tables(prefix, {
      streams: null,
      journal: (t) => {
        delete t.GlobalSecondaryIndexes;
        t.AttributeDefinitions = [{ AttributeName: 'stream', AttributeType: 'S' }, { AttributeName: 'seq', AttributeType: 'N' }];
      },
    }, false);
    const found = await line(prefix);
    expect(found).toMatch(new RegExp(`^DynamoDB table ${prefix}-streams was not found in region us-east-1 .*`
      + ` \\(and 2 more problems: paylog doctor --store '${'dynamodb://'}${prefix}\\?region=us-east-1&endpoint=${endpoint()}' lists them\\)$`));
  });

  it('an endpoint that does not answer: refused, or silent past the deadline', async () => {
    const port = await freePort();
    expect(await line('p', `dynamodb://p?endpoint=http://127.0.0.1:${port}`)).toBe(
      `DynamoDB endpoint http://127.0.0.1:${port} (region us-east-1) does not answer (ECONNREFUSED); expected DynamoDB there: `
      + 'check the region and endpoint of --store (PAYLOG_STORE) and that this machine can reach it');

    const silent = createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const silentPort = (silent.address() as { port: number }).port;
    try {
      // The answer names the deadline: the inspection gave up at it, not at the SDK's own (much longer) timeouts.
      const inspection = await inspectTables(parseDynamoUrl(`dynamodb://p?endpoint=http://127.0.0.1:${silentPort}`), { deadlineMs: 300 });
      expect(summaryLine(inspection)).toBe(
        `DynamoDB endpoint http://127.0.0.1:${silentPort} (region us-east-1) does not answer (no answer within 300 ms); expected DynamoDB there: `
        + 'check the region and endpoint of --store (PAYLOG_STORE) and that this machine can reach it');
    } finally {
      silent.close();
    }
  });

  /** A client whose calls of one action fail as AWS would answer them, before anything is sent. */
  function failing(action: string, name: string, onlyTable?: string): DynamoDBClient {
    const sdk = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamoEndpoint(), maxAttempts: 1 });
    sdk.middlewareStack.add((next, context) => async (args) => {
      const input = args.input as { TableName?: string };
      if (context.commandName === `${action}Command` && (onlyTable === undefined || input.TableName === onlyTable)) {
        // What IAM says, account and principal included: none of it may reach the line.
        throw Object.assign(new Error(`User: arn:aws:iam::123456789012:user/ops-alice is not authorized to perform: dynamodb:${action} on resource: ${input.TableName}`), {
          name, $fault: 'client', $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    }, { step: 'initialize', name: 'failAction' });
    return sdk;
  }

  it('AccessDenied on DescribeTimeToLive for one table, and on DescribeTable for all', async () => {
    const prefix = freshPrefix('chk-denied');
    await tables(prefix);
    const location = parseDynamoUrl(dynamoUrl(prefix));
    const ttlDenied = failing('DescribeTimeToLive', 'AccessDeniedException', `${prefix}-idempotency`);
    const describeDenied = failing('DescribeTable', 'AccessDeniedException');
    try {
      const one = summaryLine(await inspectTables(location, { client: ttlDenied }));
      expect(one).toBe(
        `DynamoDB table ${prefix}-idempotency: access denied to dynamodb:DescribeTimeToLive (AccessDeniedException); expected the IAM policy of these credentials to allow `
        + "dynamodb:DescribeTimeToLive on the table: grant it (the CDK stack in infra/ grants it to the function's role)");
      const all = summaryLine(await inspectTables(location, { client: describeDenied }));
      expect(all).toBe(
        `DynamoDB table ${prefix}-streams: access denied to dynamodb:DescribeTable (AccessDeniedException); expected the IAM policy of these credentials to allow `
        + "dynamodb:DescribeTable on the table: grant it (the CDK stack in infra/ grants it to the function's role) "
        + `(and ${TABLE_NAMES.length - 1} more problems: paylog doctor --store ${store(prefix)} lists them)`);
      for (const text of [one, all]) expect(text).not.toMatch(/123456789012|ops-alice|not authorized/);
    } finally {
      ttlDenied.destroy();
      describeDenied.destroy();
    }
  });

  it('credentials DynamoDB does not know (UnrecognizedClientException) are about the endpoint, not a table', async () => {
    const prefix = freshPrefix('chk-creds');
    const sdk = failing('DescribeTable', 'UnrecognizedClientException');
    try {
      expect(summaryLine(await inspectTables(parseDynamoUrl(dynamoUrl(prefix)), { client: sdk }))).toBe(
        `DynamoDB endpoint ${endpoint()} (region us-east-1) rejected the AWS credentials (UnrecognizedClientException); expected a valid access key for this account and region: `
        + 'check AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (aws sts get-caller-identity shows whose they are)');
    } finally {
      sdk.destroy();
    }
  });

  it('checkTables throws a DynamoTableError whose stack is its one line and which keeps no SDK error', async () => {
    const prefix = freshPrefix('chk-throw');
    const err = await checkTables(dynamoUrl(prefix)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DynamoTableError);
    const error = err as DynamoTableError;
    expect(error.message).not.toContain('\n');
    expect(error.stack).toBe(`DynamoTableError: ${error.message}`);
    expect(error.cause).toBeUndefined();
  });

  it('createTables refuses a table whose key cannot be mended, in one line', async () => {
    const prefix = freshPrefix('chk-create');
    await tables(prefix, { apiKeys: keyedOn('secretHash') });
    await expect(createTables({ url: dynamoUrl(prefix) })).rejects.toThrow(
      `DynamoDB table ${prefix}-api-keys exists but does not match its definition: key is (secretHash S HASH), expected (id S HASH); `
      + `a table's key cannot change in place, so the table must be recreated: back up its items, delete it, then run paylog migrate --store ${store(prefix)}`);
  });
});
