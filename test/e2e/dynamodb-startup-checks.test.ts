import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTableInput, createTables } from '../../src/adapters/store/dynamodb/create-tables.js';
import { TABLES, type TableName, tableName } from '../../src/adapters/store/dynamodb/tables.js';
import { composeLambda } from '../../src/runtimes/lambda/compose.js';
import { DYNAMO_ENV, dynamoEndpoint, dynamoUrl, freshPrefix } from '../support/dynamodb.js';
import { IAM_MESSAGE_ACCOUNT, startDynamoProxy } from '../support/dynamodb-proxy.js';
import { freePort, runPaylogAsync } from '../support/process.js';

/**
 * `serve`, `migrate`, any other command and a Lambda cold start check the DynamoDB tables
 * before anything else, and stop with one line that says what is wrong and how to fix it.
 */

let dataDir: string;
let client: DynamoDBClient;
beforeAll(() => {
  client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamoEndpoint() });
});
afterAll(() => client?.destroy());
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'paylog-startup-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const quoted = (prefix: string) => `'dynamodb://${prefix}?region=us-east-1&endpoint=${dynamoEndpoint()}'`;

/** Every table of the prefix as defined, but the journal's sort key a string, as a hand-made table might have it. */
async function journalWithStringSeq(prefix: string): Promise<string> {
  await Promise.all((Object.keys(TABLES) as TableName[]).map(async (table) => {
    const input = createTableInput(tableName(prefix, table), TABLES[table]);
    if (table === 'journal') input.AttributeDefinitions = input.AttributeDefinitions?.map((a) => (a.AttributeName === 'seq' ? { ...a, AttributeType: 'S' as const } : a));
    await client.send(new CreateTableCommand(input));
  }));
  await client.send(new UpdateTimeToLiveCommand({ TableName: `${prefix}-idempotency`, TimeToLiveSpecification: { AttributeName: 'expiresAtEpoch', Enabled: true } }));
  return `DynamoDB table ${prefix}-journal exists but does not match its definition: key is (stream S HASH, seq S RANGE), expected (stream S HASH, seq N RANGE); `
    + `a table's key cannot change in place, so the table must be recreated: back up its items, delete it, then run paylog migrate --store ${quoted(prefix)}`;
}

function paylog(args: string[], store: string) {
  return runPaylogAsync(args, { PAYLOG_DATA_DIR: dataDir, PAYLOG_STORE: store, PAYLOG_LOG_LEVEL: 'info' });
}

describe('start-up table checks', () => {
  it('serve stops with the one line (exit 2) before it listens', async () => {
    const prefix = freshPrefix('start-serve');
    const line = await journalWithStringSeq(prefix);
    const run = await paylog(['serve', '--port', '0'], dynamoUrl(prefix));
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`paylog: ${line}\n`);
    expect(run.stdout).toBe('');
  });

  it('migrate creates what is missing, then stops with the one line on what it cannot mend', async () => {
    const prefix = freshPrefix('start-migrate');
    const line = await journalWithStringSeq(prefix);
    const run = await paylog(['migrate'], dynamoUrl(prefix));
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`paylog: ${line}\n`);
    expect(run.stdout).toBe('');

    const fresh = freshPrefix('start-migrate-ok');
    const made = await paylog(['migrate'], dynamoUrl(fresh));
    expect(made.status, made.stderr).toBe(0);
    expect((await paylog(['doctor'], dynamoUrl(fresh))).status).toBe(0);
  });

  it('migrate against an endpoint that does not answer: the endpoint and region it tried', async () => {
    const port = await freePort();
    const run = await paylog(['migrate'], `dynamodb://start-down?endpoint=http://127.0.0.1:${port}`);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`paylog: DynamoDB endpoint http://127.0.0.1:${port} (region us-east-1) does not answer (ECONNREFUSED); expected DynamoDB there: `
      + 'check the region and endpoint of --store (PAYLOG_STORE) and that this machine can reach it\n');
  });

  it('migrate without the right to create a table: the IAM action, and who needs it', async () => {
    const prefix = freshPrefix('start-nocreate');
    const proxy = await startDynamoProxy(dynamoEndpoint());
    proxy.decide = ({ action, table }) => (action === 'CreateTable' && table === `${prefix}-checkpoints` ? 'denied' : 'pass');
    try {
      const run = await paylog(['migrate'], `dynamodb://${prefix}?endpoint=${proxy.endpoint}`);
      expect(run.status).toBe(2);
      expect(run.stderr).toBe(`paylog: DynamoDB table ${prefix}-checkpoints: access denied to dynamodb:CreateTable (AccessDeniedException); `
        + 'expected the IAM policy of these credentials to allow dynamodb:CreateTable on the table: '
        + 'grant it to whoever runs paylog migrate (the CDK stack in infra/ creates the tables without it)\n');
      expect(run.stderr).not.toContain(IAM_MESSAGE_ACCOUNT);
    } finally {
      await proxy.close();
    }
  });

  it('any other command, against tables of another region: every table named missing at once, in the region it looked in', async () => {
    const prefix = freshPrefix('start-region');
    await createTables({ url: dynamoUrl(prefix) });
    const run = await paylog(['keys', 'list'], `${dynamoUrl(prefix)}&region=eu-west-1`);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`paylog: DynamoDB table ${prefix}-streams was not found in region eu-west-1 (endpoint ${dynamoEndpoint()}), where paylog expects it, `
      + `nor were the other ${Object.keys(TABLES).length - 1} tables of prefix ${prefix}; tables are regional, so tables created in another region are not seen here. `
      + `Create them with: paylog migrate --store 'dynamodb://${prefix}?region=eu-west-1&endpoint=${dynamoEndpoint()}'\n`);
  });

  it('a Lambda cold start fails with the one line as its error, and no stack beneath it', async () => {
    const prefix = freshPrefix('start-lambda');
    const line = await journalWithStringSeq(prefix);
    const err = await composeLambda({ ...DYNAMO_ENV, PAYLOG_STORE: dynamoUrl(prefix), PAYLOG_DATA_DIR: dataDir, PAYLOG_JOURNAL: 'paylog-aws' })
      .then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    // What the Lambda runtime reports of an init error: errorType, errorMessage and the stack.
    expect({ errorType: err?.name, errorMessage: err?.message, stack: err?.stack?.split('\n') }).toEqual({
      errorType: 'DynamoTableError', errorMessage: line, stack: [`DynamoTableError: ${line}`],
    });
  });
});
