import pg from 'pg';
import { type CheckResult, fail, ok, shellWord, skip } from '../../../core/check-result.js';
import { SCHEMA_VERSION } from './schema.js';

/** Connecting and every query of the doctor give up after this. */
const DOCTOR_TIMEOUT_MS = 5_000;

/** The triggers that keep the journal and its checkpoints append-only (schema.ts, migration 1). */
const APPEND_ONLY_TRIGGERS = [
  { name: 'journal_append_only', table: 'journal', sql: 'BEFORE UPDATE OR DELETE ON journal FOR EACH ROW' },
  { name: 'checkpoints_append_only', table: 'checkpoints', sql: 'BEFORE UPDATE OR DELETE ON checkpoints FOR EACH ROW' },
  { name: 'journal_no_truncate', table: 'journal', sql: 'BEFORE TRUNCATE ON journal FOR EACH STATEMENT' },
  { name: 'checkpoints_no_truncate', table: 'checkpoints', sql: 'BEFORE TRUNCATE ON checkpoints FOR EACH STATEMENT' },
  { name: 'journal_tree_append_only', table: 'journal_tree', sql: 'BEFORE UPDATE OR DELETE ON journal_tree FOR EACH ROW' },
  { name: 'journal_tree_no_truncate', table: 'journal_tree', sql: 'BEFORE TRUNCATE ON journal_tree FOR EACH STATEMENT' },
] as const;

/**
 * What the service's statements need, table by table: `SELECT … FOR UPDATE` and
 * `INSERT … ON CONFLICT DO UPDATE` need UPDATE; only expired idempotency keys are deleted;
 * the journal and checkpoints are only ever inserted into.
 */
const NEEDED_PRIVILEGES: Record<string, readonly string[]> = {
  schema_migrations: ['SELECT'],
  streams: ['SELECT', 'INSERT', 'UPDATE'],
  journal: ['SELECT', 'INSERT'],
  checkpoints: ['SELECT', 'INSERT'],
  journal_tree: ['SELECT', 'INSERT'],
  journal_tree_heads: ['SELECT', 'INSERT', 'UPDATE'],
  payments: ['SELECT', 'INSERT', 'UPDATE'],
  idempotency: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  api_keys: ['SELECT', 'INSERT', 'UPDATE'],
  gateway_ledger: ['SELECT', 'INSERT', 'UPDATE'],
};

/** The schema's functions the service calls (a journal commit locks through one, the gateway ledger records through the other). */
const NEEDED_FUNCTIONS = [
  'paylog_lock_batch(text[], text[], text[], text[], text[], text[], text[], text[])',
  'paylog_record_calls(text[], bigint[], text[], text[], integer[], boolean[], text[], text[], text[], text[])',
] as const;

/** Why a connection failed, from the SQLSTATE or the socket's code; never the server's text, which can name users and hosts. */
const CONNECT_REASONS: Record<string, string> = {
  '28P01': 'password authentication failed (28P01)',
  '28000': 'the server refused this role from this host (28000: see pg_hba.conf)',
  '3D000': 'the database does not exist (3D000)',
  '53300': 'the server has no connection slot left (53300)',
  '57P03': 'the server is starting up or shutting down (57P03)',
};

/**
 * `paylog doctor` on PostgreSQL: connects as the configured role, then checks the schema
 * version, the append-only triggers and that the role holds every privilege the service
 * uses. `shown` is the store URL as it may be printed (password redacted).
 */
export async function postgresDoctor(url: string, shown: string): Promise<CheckResult[]> {
  const migrate = `paylog migrate --store ${shellWord(shown)}${shown.includes('***') ? ' (with the password in place of ***)' : ''}`;
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: DOCTOR_TIMEOUT_MS,
    statement_timeout: DOCTOR_TIMEOUT_MS,
    query_timeout: DOCTOR_TIMEOUT_MS,
    application_name: 'paylog doctor',
  });
  // A connection dropped while idle must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    return [
      fail('connection', `cannot connect to ${shown}: ${connectReason(err)}; check the host, port, database, user and password of --store (PAYLOG_STORE)`),
      ...['schema version', 'append-only triggers', 'privileges'].map((name) => skip(name, 'not checked: no connection')),
    ];
  }
  try {
    const { rows: [who] } = await client.query<{ role: string; version: string }>("SELECT current_user AS role, current_setting('server_version') AS version");
    const role = who?.role ?? '?';
    const results: CheckResult[] = [ok('connection', `${shown} as role ${role}, PostgreSQL ${who?.version ?? '?'}`)];
    const version = await schemaVersion(client);
    if (version === null) {
      results.push(fail('schema version', `no paylog schema (no schema_migrations table), expected version ${SCHEMA_VERSION}; create it with: ${migrate}`));
    } else if (version === 'denied') {
      results.push(fail('schema version', `role ${role} may not read schema_migrations (42501), expected SELECT on it; grant it: GRANT SELECT ON schema_migrations TO ${ident(role)};`));
    } else if (version > SCHEMA_VERSION) {
      results.push(fail('schema version', `${version}, newer than this paylog's ${SCHEMA_VERSION}; upgrade paylog`));
    } else if (version < SCHEMA_VERSION) {
      results.push(fail('schema version', `${version}, expected ${SCHEMA_VERSION}; upgrade it with: ${migrate}`));
    } else {
      results.push(ok('schema version', `${version}, current`));
    }
    if (version === null) {
      results.push(skip('append-only triggers', 'not checked: no schema'), skip('privileges', 'not checked: no schema'));
      return results;
    }
    results.push(await triggers(client), await privileges(client, role));
    return results;
  } catch (err) {
    // A query that failed midway (the connection dropped, a timeout): said once, with its code.
    return [fail('connection', `${shown}: a check query failed (${codeOf(err)}); run paylog doctor again`)];
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function schemaVersion(client: pg.Client): Promise<number | null | 'denied'> {
  const { rows: [table] } = await client.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (!table?.present) return null;
  try {
    const { rows: [row] } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
    return row?.version ?? 0;
  } catch (err) {
    if (codeOf(err) === '42501') return 'denied';
    throw err;
  }
}

async function triggers(client: pg.Client): Promise<CheckResult> {
  // The tables as the service's unqualified names resolve them (search_path).
  const { rows } = await client.query<{ name: string; enabled: string }>(`
    SELECT t.tgname AS name, t.tgenabled AS enabled FROM pg_trigger t
    WHERE t.tgrelid IN (to_regclass('journal'), to_regclass('checkpoints'), to_regclass('journal_tree')) AND NOT t.tgisinternal`);
  const found = new Map(rows.map((r) => [r.name, r.enabled]));
  const missing = APPEND_ONLY_TRIGGERS.filter((t) => !found.has(t.name));
  // tgenabled 'D': disabled (ALTER TABLE … DISABLE TRIGGER); the others fire in some replication role.
  const disabled = APPEND_ONLY_TRIGGERS.filter((t) => found.get(t.name) === 'D');
  if (missing.length === 0 && disabled.length === 0) return ok('append-only triggers', APPEND_ONLY_TRIGGERS.map((t) => t.name).join(', '));
  const fixes = [
    ...missing.map((t) => `CREATE TRIGGER ${t.name} ${t.sql} EXECUTE FUNCTION paylog_append_only();`),
    ...disabled.map((t) => `ALTER TABLE ${t.table} ENABLE TRIGGER ${t.name};`),
  ];
  const what = [
    ...(missing.length > 0 ? [`${missing.map((t) => t.name).join(', ')} missing`] : []),
    ...(disabled.length > 0 ? [`${disabled.map((t) => t.name).join(', ')} disabled`] : []),
  ].join(', ');
  return fail('append-only triggers', `${what}, expected all ${APPEND_ONLY_TRIGGERS.length} enabled (they refuse UPDATE, DELETE and TRUNCATE on the journal, its checkpoints and its tree); check the journal with paylog verify, then as the tables' owner: ${fixes.join(' ')}`);
}

async function privileges(client: pg.Client, role: string): Promise<CheckResult> {
  const pairs = Object.entries(NEEDED_PRIVILEGES).flatMap(([table, privs]) => privs.map((priv) => [table, priv] as const));
  const { rows } = await client.query<{ tbl: string; priv: string; granted: boolean | null }>({
    text: `SELECT n.tbl, n.priv, CASE WHEN to_regclass(n.tbl) IS NULL THEN NULL ELSE has_table_privilege(to_regclass(n.tbl), n.priv) END AS granted
           FROM unnest($1::text[], $2::text[]) AS n(tbl, priv)`,
    values: [pairs.map(([t]) => t), pairs.map(([, p]) => p)],
  });
  // PostgreSQL grants EXECUTE on functions to PUBLIC unless an administrator revoked it.
  const { rows: functions } = await client.query<{ tbl: string; priv: string; granted: boolean | null }>({
    text: `SELECT 'FUNCTION ' || f.sig AS tbl, 'EXECUTE' AS priv,
                  CASE WHEN to_regprocedure(f.sig) IS NULL THEN NULL ELSE has_function_privilege(to_regprocedure(f.sig), 'EXECUTE') END AS granted
           FROM unnest($1::text[]) AS f(sig)`,
    values: [[...NEEDED_FUNCTIONS]],
  });
  const all = [...rows, ...functions];
  const absent = [...new Set(all.filter((r) => r.granted === null).map((r) => r.tbl))];
  const lacking = all.filter((r) => r.granted === false);
  const grants = lacking.map((r) => `GRANT ${r.priv} ON ${r.tbl} TO ${ident(role)};`);
  if (absent.length > 0) {
    return fail('privileges', `${absent.join(', ')} ${absent.length === 1 ? 'is' : 'are'} missing from the schema, expected by paylog; recreate the schema (restore a backup into a fresh database)`);
  }
  if (grants.length === 0) return ok('privileges', `role ${role} holds what paylog needs on its ${Object.keys(NEEDED_PRIVILEGES).length} tables and ${NEEDED_FUNCTIONS.length} functions`);
  const missingText = lacking.map((r) => `${r.priv} on ${r.tbl}`).join(', ');
  return fail('privileges', `role ${role} lacks ${missingText}, expected by paylog; grant ${grants.length === 1 ? 'it' : 'them'} as the tables' owner: ${grants.join(' ')}`);
}

function connectReason(err: unknown): string {
  const code = codeOf(err);
  const reason = CONNECT_REASONS[code];
  if (reason !== undefined) return reason;
  if (/^E[A-Z]+$/.test(code)) return `no answer (${code})`;
  if (err instanceof Error && /timeout/i.test(err.message)) return `no answer within ${DOCTOR_TIMEOUT_MS} ms`;
  return `failed (${code})`;
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && code !== '' ? code : err instanceof Error ? err.name : 'unknown error';
}

/** A role or schema name as SQL needs it: bare when it is a plain lower-case identifier. */
function ident(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
