import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createTableInput, createTables } from '../../src/adapters/store/dynamodb/create-tables.js';
import { TABLES, type TableName, tableName } from '../../src/adapters/store/dynamodb/tables.js';

const TABLE_COUNT = Object.keys(TABLES).length;
import { SCHEMA_VERSION as POSTGRES_SCHEMA } from '../../src/adapters/store/postgres/schema.js';
import { SCHEMA_VERSION as SQLITE_SCHEMA } from '../../src/adapters/store/sqlite/schema.js';
import { dynamoEndpoint, dynamoUrl, freshPrefix } from '../support/dynamodb.js';
import { IAM_MESSAGE_ACCOUNT, startDynamoProxy } from '../support/dynamodb-proxy.js';
import { FAST_GATEWAY_ENV } from '../support/harness.js';
import { freshDatabase } from '../support/postgres.js';
import { PAYLOG_BIN, freePort, runPaylogAsync } from '../support/process.js';

/** `paylog doctor` as a user runs it: the built CLI, a real process, its exit code and its table. */

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface Row {
  name: string;
  status: string;
  detail: string;
}

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'paylog-doctor-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

function doctor(store: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  return runPaylogAsync(['doctor', '--store', store], { PAYLOG_DATA_DIR: dataDir, ...extraEnv });
}

/** The rows of the printed table (check, result, detail), below its header. */
function rows(stdout: string): Row[] {
  const lines = stdout.split('\n');
  const header = lines.findIndex((l) => /^check\s+result\s+detail$/.test(l));
  expect(header, stdout).toBeGreaterThan(0);
  const body = lines.slice(header + 1, lines.indexOf('', header));
  return body.map((line) => {
    const match = /^(.+?) {2,}(ok|FAIL|skip)(?: {2,}(.*))?$/.exec(line);
    expect(match, line).not.toBeNull();
    return { name: match![1] as string, status: match![2] as string, detail: match![3] ?? '' };
  });
}

function row(run: Run, name: string): Row {
  const found = rows(run.stdout).find((r) => r.name === name);
  expect(found, `${name} in\n${run.stdout}`).toBeDefined();
  return found as Row;
}

/** No stack trace, and (checked where it matters) no secret, in anything printed. */
function clean(run: Run): void {
  expect(`${run.stdout}${run.stderr}`).not.toContain('    at ');
}

describe('paylog doctor on SQLite', () => {
  it('a migrated file passes every check: exit 0', async () => {
    const path = join(dataDir, 'paylog.db');
    expect((await runPaylogAsync(['migrate', '--store', `sqlite:${path}`], { PAYLOG_DATA_DIR: dataDir })).status).toBe(0);
    const run = await doctor(`sqlite:${path}`);
    clean(run);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(`Checking sqlite:${path}`);
    expect(rows(run.stdout).map((r) => [r.name, r.status])).toEqual([
      ['file', 'ok'], ['file access', 'ok'], ['directory', 'ok'], ['journal mode', 'ok'], ['schema version', 'ok'], ['append-only triggers', 'ok'],
    ]);
    expect(row(run, 'file').detail).toMatch(new RegExp(`^${path} \\(\\d+ KiB\\)$`));
    expect(row(run, 'journal mode').detail).toBe('wal');
    expect(row(run, 'schema version').detail).toBe(`${SQLITE_SCHEMA}, current`);
    expect(row(run, 'append-only triggers').detail).toBe('journal_no_update, journal_no_delete, checkpoints_no_update, checkpoints_no_delete, journal_tree_no_update, journal_tree_no_delete');
    expect(run.stdout.endsWith('\nAll 6 checks passed.\n')).toBe(true);
  });

  it('a missing file fails with the command that creates it, and is not created', async () => {
    const path = join(dataDir, 'paylog.db');
    const run = await doctor(`sqlite:${path}`);
    clean(run);
    expect(run.status).toBe(1);
    expect(row(run, 'file')).toEqual({
      name: 'file', status: 'FAIL',
      detail: `${path} does not exist, its directory ${dataDir} can hold it; create it with: paylog migrate --store sqlite:${path} (or start the server: paylog serve)`,
    });
    expect(rows(run.stdout).slice(1).map((r) => r.status)).toEqual(['skip', 'skip', 'skip']);
    expect(run.stdout.endsWith('\n1 of 1 checks failed, 3 skipped.\n')).toBe(true);
    expect(readdirSync(dataDir)).toEqual([]);

    const deeper = join(dataDir, 'no', 'such', 'paylog.db');
    const again = await doctor(`sqlite:${deeper}`);
    expect(again.status).toBe(1);
    expect(row(again, 'file').detail).toBe(`${deeper} does not exist, nor does its directory ${join(dataDir, 'no', 'such')}; paylog migrate --store sqlite:${deeper} creates both`);
    expect(existsSync(join(dataDir, 'no'))).toBe(false);
  });

  it('a file that is not a database, an old schema, a dropped trigger', async () => {
    const garbage = join(dataDir, 'garbage.db');
    writeFileSync(garbage, 'this is not a database, it is a note\n'.repeat(200));
    const notDb = await doctor(`sqlite:${garbage}`);
    clean(notDb);
    expect(notDb.status).toBe(1);
    expect(row(notDb, 'journal mode')).toEqual({ name: 'journal mode', status: 'FAIL', detail: `${garbage} is not a SQLite database (SQLITE_NOTADB); point --store at paylog's database file` });

    const path = join(dataDir, 'paylog.db');
    expect((await runPaylogAsync(['migrate', '--store', `sqlite:${path}`], { PAYLOG_DATA_DIR: dataDir })).status).toBe(0);
    const db = new Database(path);
    db.exec('DROP TRIGGER journal_no_delete');
    db.close();
    const dropped = await doctor(`sqlite:${path}`);
    expect(dropped.status).toBe(1);
    expect(row(dropped, 'append-only triggers')).toEqual({
      name: 'append-only triggers', status: 'FAIL',
      detail: 'journal_no_delete is missing or raise nothing, expected all 6 (they refuse UPDATE and DELETE on the journal, its checkpoints and its tree); '
        + `check the journal with paylog verify, then recreate it: sqlite3 ${path} 'DROP TRIGGER IF EXISTS journal_no_delete; `
        + `CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal BEGIN SELECT RAISE(ABORT, '\\''journal is append-only'\\''); END;'`,
    });
    // The printed statement, run as printed, restores the trigger.
    const fix = new Database(path);
    fix.exec("DROP TRIGGER IF EXISTS journal_no_delete; CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;");
    fix.pragma('user_version = 1');
    fix.close();
    const old = await doctor(`sqlite:${path}`);
    expect(old.status).toBe(1);
    expect(row(old, 'schema version')).toEqual({ name: 'schema version', status: 'FAIL', detail: `schema version 1, expected ${SQLITE_SCHEMA}; upgrade it with: paylog migrate --store sqlite:${path}` });
    expect(row(old, 'append-only triggers')).toEqual({ name: 'append-only triggers', status: 'skip', detail: 'not checked: the schema is not current' });
  });

  describe('file rights, checked as a user that file modes bind', () => {
    // Root passes every mode check, so as root the doctor runs as nobody, on files nobody owns.
    const asRoot = process.getuid?.() === 0;
    const user = asRoot ? 'user nobody' : `user ${process.env.USER ?? ''}`;
    const ids = asRoot ? { uid: 65534, gid: 65534 } : {};

    function doctorAs(store: string): Promise<Run> {
      return new Promise((resolve) => {
        const child = spawn(process.execPath, [PAYLOG_BIN, 'doctor', '--store', store], {
          ...ids, cwd: dataDir, env: { ...process.env, ...FAST_GATEWAY_ENV, PAYLOG_DATA_DIR: dataDir },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
        child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
        child.on('exit', (status) => resolve({ status, stdout, stderr }));
      });
    }

    /** A migrated database in a directory of its own, owned by the user the doctor runs as. */
    async function owned(): Promise<{ dir: string; path: string }> {
      const dir = join(dataDir, 'db');
      const path = join(dir, 'paylog.db');
      expect((await runPaylogAsync(['migrate', '--store', `sqlite:${path}`], { PAYLOG_DATA_DIR: dataDir })).status).toBe(0);
      for (const p of [dataDir, dir, path]) {
        if (asRoot) chownSync(p, 65534, 65534);
      }
      chmodSync(dataDir, 0o755);
      return { dir, path };
    }

    it('a read-only file', async () => {
      const { path } = await owned();
      chmodSync(path, 0o444);
      const run = await doctorAs(`sqlite:${path}`);
      clean(run);
      expect(run.status, run.stdout + run.stderr).toBe(1);
      expect(row(run, 'file access')).toEqual({
        name: 'file access', status: 'FAIL',
        detail: `${user} cannot read and write ${path} (EACCES); paylog writes every request there: give ${user} read and write access (chown, or chmod u+rw)`,
      });
      expect(row(run, 'directory').status).toBe('ok');
    });

    it('a read-only directory (no room for -wal and -shm)', async () => {
      const { dir, path } = await owned();
      chmodSync(dir, 0o555);
      try {
        const run = await doctorAs(`sqlite:${path}`);
        clean(run);
        expect(run.status, run.stdout + run.stderr).toBe(1);
        expect(row(run, 'file access').status).toBe('ok');
        expect(row(run, 'directory')).toEqual({
          name: 'directory', status: 'FAIL',
          detail: `${user} cannot create files in ${dir} (EACCES); SQLite needs ${path}-wal and ${path}-shm beside the database: make ${dir} writable for ${user}`,
        });
      } finally {
        chmodSync(dir, 0o755);
      }
    });
  });
});

describe('paylog doctor on PostgreSQL', () => {
  let admin: pg.Client;
  let url: string;
  const role = `doctor_app_${process.pid}`;

  beforeAll(async () => {
    url = await freshDatabase(inject('postgresUrl'), 'doctor');
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`DROP OWNED BY ${role}`).catch(() => undefined);
    await admin?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin?.end();
  });

  it('an empty database: no schema, and the command that creates it; after migrate every check passes', async () => {
    const before = await doctor(url);
    clean(before);
    expect(before.status).toBe(1);
    expect(row(before, 'connection')).toMatchObject({ status: 'ok' });
    expect(row(before, 'connection').detail).toMatch(new RegExp(`^${url} as role postgres, PostgreSQL \\d+`));
    expect(row(before, 'schema version')).toEqual({
      name: 'schema version', status: 'FAIL',
      detail: `no paylog schema (no schema_migrations table), expected version ${POSTGRES_SCHEMA}; create it with: paylog migrate --store ${url}`,
    });
    expect(rows(before.stdout).slice(2).map((r) => r.status)).toEqual(['skip', 'skip']);

    expect((await runPaylogAsync(['migrate', '--store', url], { PAYLOG_DATA_DIR: dataDir })).status).toBe(0);
    const after = await doctor(url);
    clean(after);
    expect(after.status, after.stdout).toBe(0);
    expect(rows(after.stdout).map((r) => [r.name, r.status, r.name === 'connection' ? '' : r.detail])).toEqual([
      ['connection', 'ok', ''],
      ['schema version', 'ok', `${POSTGRES_SCHEMA}, current`],
      ['append-only triggers', 'ok', 'journal_append_only, checkpoints_append_only, journal_no_truncate, checkpoints_no_truncate, journal_tree_append_only, journal_tree_no_truncate'],
      ['privileges', 'ok', 'role postgres holds what paylog needs on its 10 tables and 2 functions'],
    ]);
  });

  it("a role without the service's rights: the exact GRANTs, which are then enough to run paylog", async () => {
    const LOCK_BATCH = 'paylog_lock_batch(text[], text[], text[], text[], text[], text[], text[], text[])';
    await runPaylogAsync(['migrate', '--store', url], { PAYLOG_DATA_DIR: dataDir });
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`GRANT SELECT, INSERT ON journal, checkpoints, journal_tree TO ${role}`);
    await admin.query(`GRANT SELECT, INSERT, UPDATE ON journal_tree_heads TO ${role}`);
    await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON streams, idempotency, api_keys, gateway_ledger TO ${role}`);
    await admin.query(`GRANT SELECT, INSERT ON payments TO ${role}`);
    await admin.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    await admin.query(`REVOKE EXECUTE ON FUNCTION ${LOCK_BATCH} FROM PUBLIC`);
    const roleUrl = url.replace('//postgres@', `//${role}@`);

    const run = await doctor(roleUrl);
    clean(run);
    expect(run.status).toBe(1);
    expect(row(run, 'schema version')).toEqual({
      name: 'schema version', status: 'FAIL',
      detail: `role ${role} may not read schema_migrations (42501), expected SELECT on it; grant it: GRANT SELECT ON schema_migrations TO ${role};`,
    });
    expect(row(run, 'privileges')).toEqual({
      name: 'privileges', status: 'FAIL',
      detail: `role ${role} lacks SELECT on schema_migrations, UPDATE on payments, EXECUTE on FUNCTION ${LOCK_BATCH}, expected by paylog; `
        + `grant them as the tables' owner: GRANT SELECT ON schema_migrations TO ${role}; GRANT UPDATE ON payments TO ${role}; `
        + `GRANT EXECUTE ON FUNCTION ${LOCK_BATCH} TO ${role};`,
    });
    // Without them, paylog cannot even start.
    expect((await runPaylogAsync(['keys', 'create', '--merchant', 'acme', '--store', roleUrl], { PAYLOG_DATA_DIR: dataDir })).status).toBe(2);

    await admin.query(row(run, 'privileges').detail.split("grant them as the tables' owner: ")[1] as string);
    const granted = await doctor(roleUrl);
    expect(granted.status, granted.stdout).toBe(0);
    expect(row(granted, 'privileges').detail).toBe(`role ${role} holds what paylog needs on its 10 tables and 2 functions`);
    const created = await runPaylogAsync(['keys', 'create', '--merchant', 'acme', '--store', roleUrl], { PAYLOG_DATA_DIR: dataDir });
    expect(created.status, created.stderr).toBe(0);
  });

  it('a dropped and a disabled append-only trigger: the statements that restore them', async () => {
    await runPaylogAsync(['migrate', '--store', url], { PAYLOG_DATA_DIR: dataDir });
    await admin.query('DROP TRIGGER journal_no_truncate ON journal');
    await admin.query('ALTER TABLE checkpoints DISABLE TRIGGER checkpoints_append_only');
    const run = await doctor(url);
    clean(run);
    expect(run.status).toBe(1);
    const fix = 'CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal FOR EACH STATEMENT EXECUTE FUNCTION paylog_append_only(); '
      + 'ALTER TABLE checkpoints ENABLE TRIGGER checkpoints_append_only;';
    expect(row(run, 'append-only triggers')).toEqual({
      name: 'append-only triggers', status: 'FAIL',
      detail: 'journal_no_truncate missing, checkpoints_append_only disabled, expected all 6 enabled (they refuse UPDATE, DELETE and TRUNCATE on the journal, its checkpoints and its tree); '
        + `check the journal with paylog verify, then as the tables' owner: ${fix}`,
    });
    await admin.query(fix);
    expect((await doctor(url)).status).toBe(0);
  });

  it('a server that does not answer: the URL without its password', async () => {
    const port = await freePort();
    // In the environment: a password in --store is refused (every local user reads command lines).
    const run = await runPaylogAsync(['doctor'], { PAYLOG_DATA_DIR: dataDir, PAYLOG_STORE: `postgres://paylog:s3cret-pass@127.0.0.1:${port}/paylog` });
    clean(run);
    expect(run.status).toBe(1);
    expect(row(run, 'connection')).toEqual({
      name: 'connection', status: 'FAIL',
      detail: `cannot connect to postgres://paylog:***@127.0.0.1:${port}/paylog: no answer (ECONNREFUSED); check the host, port, database, user and password of --store (PAYLOG_STORE)`,
    });
    expect(run.stdout).toContain(`Checking postgres://paylog:***@127.0.0.1:${port}/paylog`);
    expect(`${run.stdout}${run.stderr}`).not.toContain('s3cret-pass');
  });
});

describe('paylog doctor on DynamoDB', () => {
  let client: DynamoDBClient;
  beforeAll(() => {
    client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamoEndpoint() });
  });
  afterAll(() => client?.destroy());
  const store = (prefix: string, endpoint = dynamoEndpoint()) => `'dynamodb://${prefix}?region=us-east-1&endpoint=${endpoint}'`;

  it('tables made by migrate: one row for the endpoint and one per table, exit 0', async () => {
    const prefix = freshPrefix('doc');
    expect((await runPaylogAsync(['migrate', '--store', dynamoUrl(prefix)], { PAYLOG_DATA_DIR: dataDir })).status).toBe(0);
    const run = await doctor(dynamoUrl(prefix));
    clean(run);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(rows(run.stdout)).toEqual([
      { name: 'endpoint', status: 'ok', detail: `${dynamoEndpoint()}, region us-east-1: answered` },
      { name: `table ${prefix}-streams`, status: 'ok', detail: 'ACTIVE, key and 1 index as defined' },
      { name: `table ${prefix}-journal`, status: 'ok', detail: 'ACTIVE, key and 1 index as defined' },
      { name: `table ${prefix}-journal-tree`, status: 'ok', detail: 'ACTIVE, key as defined' },
      { name: `table ${prefix}-checkpoints`, status: 'ok', detail: 'ACTIVE, key as defined' },
      { name: `table ${prefix}-payments`, status: 'ok', detail: 'ACTIVE, key and 4 indexes as defined' },
      { name: `table ${prefix}-idempotency`, status: 'ok', detail: 'ACTIVE, key as defined, TTL on expiresAtEpoch' },
      { name: `table ${prefix}-api-keys`, status: 'ok', detail: 'ACTIVE, key and 1 index as defined' },
      { name: `table ${prefix}-gateway-ledger`, status: 'ok', detail: 'ACTIVE, key as defined' },
    ]);
    expect(run.stdout.endsWith(`\nAll ${TABLE_COUNT + 1} checks passed.\n`)).toBe(true);
  });

  it('a wrong key type, a missing index, TTL off and a missing table: one failing row each, exit 1', async () => {
    const prefix = freshPrefix('doc-broken');
    await Promise.all((Object.keys(TABLES) as TableName[]).map(async (table) => {
      if (table === 'apiKeys') return;
      const input = createTableInput(tableName(prefix, table), TABLES[table]);
      if (table === 'journal') input.AttributeDefinitions = input.AttributeDefinitions?.map((a) => (a.AttributeName === 'seq' ? { ...a, AttributeType: 'S' as const } : a));
      if (table === 'payments') input.GlobalSecondaryIndexes = input.GlobalSecondaryIndexes?.filter((i) => i.IndexName !== 'byStatus');
      if (table === 'payments') input.AttributeDefinitions = input.AttributeDefinitions?.filter((a) => a.AttributeName !== 'status' && a.AttributeName !== 'updatedAt');
      await client.send(new CreateTableCommand(input));
    }));
    const run = await doctor(dynamoUrl(prefix));
    clean(run);
    expect(run.status, run.stdout + run.stderr).toBe(1);
    const failed = rows(run.stdout).filter((r) => r.status === 'FAIL');
    expect(failed).toEqual([
      {
        name: `table ${prefix}-journal`, status: 'FAIL',
        detail: `DynamoDB table ${prefix}-journal exists but does not match its definition: key is (stream S HASH, seq S RANGE), expected (stream S HASH, seq N RANGE); `
          + `a table's key cannot change in place, so the table must be recreated: back up its items, delete it, then run paylog migrate --store ${store(prefix)}`,
      },
      {
        name: `table ${prefix}-payments`, status: 'FAIL',
        detail: `DynamoDB table ${prefix}-payments exists but does not match its definition: index byStatus is missing, expected (status S HASH, updatedAt S RANGE) projecting ALL; `
          + `add it with: paylog migrate --store ${store(prefix)}`,
      },
      {
        name: `table ${prefix}-idempotency`, status: 'FAIL',
        detail: `DynamoDB table ${prefix}-idempotency has TTL DISABLED, expected ENABLED on expiresAtEpoch (otherwise expired items are never deleted); enable it with: `
          + `aws dynamodb update-time-to-live --table-name ${prefix}-idempotency --time-to-live-specification Enabled=true,AttributeName=expiresAtEpoch --region us-east-1 --endpoint-url ${dynamoEndpoint()} `
          + `(or paylog migrate --store ${store(prefix)})`,
      },
      {
        name: `table ${prefix}-api-keys`, status: 'FAIL',
        detail: `DynamoDB table ${prefix}-api-keys was not found in region us-east-1 (endpoint ${dynamoEndpoint()}), where paylog expects it; `
          + `tables are regional, so one created in another region is not seen here. Create it with: paylog migrate --store ${store(prefix)}`,
      },
    ]);
    expect(run.stdout.endsWith(`\n4 of ${TABLE_COUNT + 1} checks failed.\n`)).toBe(true);
  });

  it('tables made in us-east-1, looked for in eu-west-1: every table missing, in eu-west-1', async () => {
    const prefix = freshPrefix('doc-region');
    await createTables({ url: dynamoUrl(prefix) });
    const run = await doctor(`${dynamoUrl(prefix)}&region=eu-west-1`);
    expect(run.status).toBe(1);
    expect(row(run, `table ${prefix}-journal`).detail).toBe(
      `DynamoDB table ${prefix}-journal was not found in region eu-west-1 (endpoint ${dynamoEndpoint()}), where paylog expects it; `
      + `tables are regional, so one created in another region is not seen here. Create it with: paylog migrate --store 'dynamodb://${prefix}?region=eu-west-1&endpoint=${dynamoEndpoint()}'`);
  });

  it('AccessDenied on DescribeTable for one table names the IAM action, never what IAM said', async () => {
    const prefix = freshPrefix('doc-denied');
    await createTables({ url: dynamoUrl(prefix) });
    const proxy = await startDynamoProxy(dynamoEndpoint());
    proxy.decide = ({ action, table }) => (action === 'DescribeTable' && table === `${prefix}-payments` ? 'denied' : 'pass');
    try {
      const run = await doctor(`dynamodb://${prefix}?endpoint=${proxy.endpoint}`);
      clean(run);
      expect(run.status).toBe(1);
      expect(rows(run.stdout).filter((r) => r.status === 'FAIL')).toEqual([{
        name: `table ${prefix}-payments`, status: 'FAIL',
        detail: `DynamoDB table ${prefix}-payments: access denied to dynamodb:DescribeTable (AccessDeniedException); expected the IAM policy of these credentials to allow `
          + "dynamodb:DescribeTable on the table: grant it (the CDK stack in infra/ grants it to the function's role)",
      }]);
      expect(run.stdout).not.toContain(IAM_MESSAGE_ACCOUNT);
      expect(run.stdout).not.toContain('ops-alice');
    } finally {
      await proxy.close();
    }
  });

  it('credentials DynamoDB rejects, and an endpoint that does not answer: the endpoint row fails, the tables are skipped', async () => {
    const proxy = await startDynamoProxy(dynamoEndpoint());
    proxy.decide = () => 'bad-credentials';
    try {
      const run = await doctor(`dynamodb://doc-creds?endpoint=${proxy.endpoint}`);
      clean(run);
      expect(run.status).toBe(1);
      expect(row(run, 'endpoint')).toEqual({
        name: 'endpoint', status: 'FAIL',
        detail: `DynamoDB endpoint ${proxy.endpoint} (region us-east-1) rejected the AWS credentials (UnrecognizedClientException); expected a valid access key for this account and region: `
          + 'check AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (aws sts get-caller-identity shows whose they are)',
      });
      expect(run.stdout).not.toContain('security token');
    } finally {
      await proxy.close();
    }
    const port = await freePort();
    const down = await doctor(`dynamodb://doc-down?endpoint=http://127.0.0.1:${port}`);
    clean(down);
    expect(down.status).toBe(1);
    expect(rows(down.stdout)).toEqual([
      {
        name: 'endpoint', status: 'FAIL',
        detail: `DynamoDB endpoint http://127.0.0.1:${port} (region us-east-1) does not answer (ECONNREFUSED); expected DynamoDB there: `
          + 'check the region and endpoint of --store (PAYLOG_STORE) and that this machine can reach it',
      },
      ...(Object.keys(TABLES) as TableName[]).map((t) => TABLES[t].suffix).map((t) => ({
        name: `table doc-down-${t}`, status: 'skip', detail: 'not checked: the endpoint could not be used',
      })),
    ]);
    expect(down.stdout.endsWith(`\n1 of 1 checks failed, ${TABLE_COUNT} skipped.\n`)).toBe(true);
  });

  it('a store URL it cannot parse: exit 2 with one line on stderr, nothing checked', async () => {
    const run = await doctor(`dynamodb://paylog?endpoint=${dynamoEndpoint()}&table=x`);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('paylog: PAYLOG_STORE (--store): a DynamoDB store URL takes only region and endpoint, not "table"\n');
    const unknown = await doctor('mysql://paylog');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe('paylog: PAYLOG_STORE (--store): must be sqlite:PATH, postgres://… or dynamodb://…, got "mysql://paylog"\n');
  });
});
