import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import Database from 'better-sqlite3';
import pg from 'pg';
import { expect, inject } from 'vitest';
import { createTables, tableName } from '../../src/adapters/store/dynamodb/index.js';
import { journalItem } from '../../src/adapters/store/dynamodb/journal-items.js';
import { createApiKey } from '../../src/app/api-keys.js';
import { openStore } from '../../src/compose/open-store.js';
import { startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import { type AuditRecord, GENESIS_PREV, type RecordDraft, type RecordType, recordLine, sealRecord } from '../../src/core/audit-record.js';
import { checkCheckpoint, checkpointOrigin } from '../../src/core/checkpoint.js';
import { newId } from '../../src/core/ids.js';
import type { SignedHead } from '../../src/core/signed-head.js';
import { type NoteSigner, parseVerifierKey, signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { type DynamoProxy, startDynamoProxy } from './dynamodb-proxy.js';
import { DYNAMO_ENV, dynamoEndpoint, freshPrefix } from './dynamodb.js';
import type { CommandResult, VerifyReport } from './dynamodb-fleet.js';
import { freshDatabase } from './postgres.js';
import { PAYLOG_BIN, type ServerProcess, runPaylogAsync, startServerProcess, stopProcess } from './process.js';
import { WAIT_DEADLINE_MS, waitFor } from './wait.js';
import { dropTriggers } from './sqlite-triggers.js';

/**
 * Scaffolding for the insider attacks of issue 11: one paylog journal on SQLite, PostgreSQL or
 * DynamoDB, real `paylog` processes sharing its signing key, and an insider who writes to the
 * store directly with the rights of the service's own database role — INSERT on the journal
 * and checkpoints, INSERT and UPDATE on streams (SQLite: the file, whose triggers refuse UPDATE
 * and DELETE of records; PostgreSQL: a role with exactly the grants docs/deploy-postgres.md
 * recommends; DynamoDB: any item write, deletes included) — and who knows the record format
 * but not the signing key. Deleting records on SQLite and PostgreSQL takes an operator who
 * also drops the triggers.
 */

export type StoreKind = 'sqlite' | 'postgres' | 'dynamodb';
export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'postgres', 'dynamodb'];

/** The journal name every process here uses (the default). */
export const JOURNAL = 'paylog-local';

/**
 * Quiet by default: no timer checkpoint (and lease renewal) during a test, so the store
 * changes only when a test makes it. Crash tests pass a short interval and lease instead.
 */
const QUIET_CHECKPOINT_INTERVAL_MS = 600_000;
/** The simulated gateway's ledger lives in the store; DynamoDB Local can take long on 2 busy cores (see dynamodb-fleet.ts). */
const GATEWAY_ENV = {
  PAYLOG_GATEWAY_LATENCY_MS: '0', PAYLOG_GATEWAY_MAX_ATTEMPTS: '3', PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '750', PAYLOG_GATEWAY_BUDGET_MS: '2300',
};

/** A stream as the store holds it. */
export interface StreamRow {
  id: string;
  state: 'open' | 'stopped' | 'sealed';
  leaseExpiresAt: string;
  closedBy: string | null;
  head: SignedHead | null;
}

export interface NewStream {
  id: string;
  journal: string;
  writer: string;
  startedAt: string;
  leaseExpiresAt: string;
}

/** Direct access to the store, as the insider has it (writes) and as a test inspects it (reads). */
export interface Insider {
  /** Registers a stream with no signed head (a made-up one). */
  createStream(stream: NewStream): Promise<void>;
  /** Inserts records after a stream's last one (on DynamoDB also moving the stream item's head, as a commit would). */
  append(records: AuditRecord[]): Promise<void>;
  /** Sets a closed stream back to open, with the given lease. */
  reopen(stream: string, leaseExpiresAt: string): Promise<void>;
  /** Overwrites a stream's stored signed head. */
  setHead(stream: string, head: SignedHead): Promise<void>;
  /** Deletes a stream's records from `fromSeq` on, and nothing else (on SQLite and PostgreSQL, after dropping the triggers). */
  deleteFrom(stream: string, fromSeq: number): Promise<void>;
  stream(id: string): Promise<StreamRow>;
  records(stream: string): Promise<AuditRecord[]>;
  /** Sizes of the stream's stored checkpoints (periodic ones and seals), ascending. */
  checkpointSizes(stream: string): Promise<number[]>;
  recordsOfType(type: RecordType): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

export interface Verified {
  status: number | null;
  report: VerifyReport;
  /** The same run's human-readable form (`INVALID: stream … seq …: kind — …`). */
  text: string;
}

/** A paylog command started in the background, to be killed. */
export interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export interface Target {
  kind: StoreKind;
  /** The service's PAYLOG_STORE (on PostgreSQL, its least-privilege role). */
  store: string;
  /** The journal's published verifier key. */
  verifierKey: string;
  /** The signing key itself: only a test playing the key holder uses it. */
  signer: NoteSigner;
  insider: Insider;
  /** Environment of a paylog process, with a data dir of its own. */
  env(extra?: Record<string, string>): Record<string, string>;
  serve(extra?: Record<string, string>): Promise<ServerProcess>;
  paylog(args: string[], extra?: Record<string, string>): Promise<CommandResult>;
  spawn(args: string[], extra?: Record<string, string>): Spawned;
  /** `paylog verify`, JSON and text, trusting the published key unless `trust` says otherwise. */
  verify(trust?: string[]): Promise<Verified>;
  /** An API key of merchant acme (created once, in this process). */
  apiKey(): Promise<string>;
  /**
   * Starts a paylog command that will seal `stream`, holds its seal's commit before it reaches
   * the store, kills the process with SIGKILL there, and lets go. Resolves once it is dead.
   * Null on SQLite: its one write lock cannot hold the seal's commit without holding the
   * sealer's earlier commits too, and paylog has no hook to stop it in between.
   */
  crashBeforeSeal: ((stream: string, args: string[]) => Promise<void>) | null;
  close(): Promise<void>;
}

export async function openTarget(kind: StoreKind, name: string, settings: Record<string, string> = {}): Promise<Target> {
  const base = mkdtempSync(join(tmpdir(), `paylog-insider-${name}-`));
  const keyFile = join(base, 'signing-key.pem');
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  const signer = signerFromPrivateKey(JOURNAL, privateKey);
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(base, { recursive: true, force: true })];
  const running: ChildProcess[] = [];
  const close = async (): Promise<void> => {
    for (const child of running) await stopProcess(child, 'SIGKILL');
    for (const cleanup of cleanups.reverse()) await cleanup();
  };

  try {
    const opened = await openStoreFor(kind, name, base);
    cleanups.push(() => opened.insider.close());
    if (opened.close) cleanups.push(opened.close);
    const shared: Record<string, string> = {
      ...(kind === 'dynamodb' ? DYNAMO_ENV : {}),
      PAYLOG_STORE: opened.store, PAYLOG_SIGNING_KEY_FILE: keyFile, PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
      PAYLOG_RECONCILE_INTERVAL_MS: '0', PAYLOG_RATE_LIMIT: '0', PAYLOG_CHECKPOINT_INTERVAL_MS: String(QUIET_CHECKPOINT_INTERVAL_MS),
      PAYLOG_STREAM_LEASE_MS: String(2 * QUIET_CHECKPOINT_INTERVAL_MS),
      ...GATEWAY_ENV, ...settings,
    };
    let dirs = 0;
    const env = (extra: Record<string, string> = {}): Record<string, string> => ({ ...shared, PAYLOG_DATA_DIR: join(base, `process-${++dirs}`), ...extra });
    const verifierKey = verifierKeyOf(signer);
    const paylog = (args: string[], extra: Record<string, string> = {}): Promise<CommandResult> => runPaylogAsync(args, env(extra));
    const spawnPaylog = (args: string[], extra: Record<string, string> = {}): Spawned => {
      const spawned = spawnProcess(args, env(extra));
      running.push(spawned.child);
      return spawned;
    };
    let secret: Promise<string> | null = null;
    const target: Target = {
      kind, store: opened.store, verifierKey, signer, insider: opened.insider, env, paylog, close,
      spawn: spawnPaylog,
      async serve(extra = {}) {
        const server = await startServerProcess(env(extra));
        running.push(server.child);
        return server;
      },
      async verify(trust = ['--key', verifierKey]) {
        const [json, text] = await Promise.all([paylog(['verify', ...trust, '--json']), paylog(['verify', ...trust])]);
        expect(json.stderr).toBe('');
        expect(text.status, text.stdout + text.stderr).toBe(json.status);
        let report: VerifyReport;
        try {
          report = JSON.parse(json.stdout) as VerifyReport;
        } catch {
          throw new Error(`paylog verify printed no JSON report (exit ${json.status}): ${json.stdout}${json.stderr}`);
        }
        return { status: json.status, report, text: text.stdout };
      },
      apiKey() {
        secret ??= (async () => {
          const services = await startServices(loadConfig({}, env()), { role: 'test' });
          try {
            return (await createApiKey(services.ctx, services.system, 'acme', null)).secret;
          } finally {
            await services.close();
          }
        })();
        return secret;
      },
      crashBeforeSeal: opened.holdSeal ? (stream, args) => crashBeforeSeal(opened.holdSeal as HoldSeal, stream, (extra) => spawnPaylog(args, extra)) : null,
    };
    return target;
  } catch (err) {
    await close();
    throw err;
  }
}

/** Holds the commit that would seal `stream`; `victim` is the process to kill there. */
type HoldSeal = (stream: string, victim: () => ChildProcess | null) => Promise<{ env: Record<string, string>; held: Promise<void>; release: () => Promise<void> }>;

interface OpenedStore {
  store: string;
  insider: Insider;
  holdSeal?: HoldSeal;
  close?: () => Promise<void>;
}

async function openStoreFor(kind: StoreKind, name: string, base: string): Promise<OpenedStore> {
  switch (kind) {
    case 'sqlite': {
      const path = join(base, 'paylog.db');
      // Created by paylog's own migration, as a first start would.
      const store = await openStore(loadConfig({}, { PAYLOG_STORE: `sqlite:${path}`, PAYLOG_DATA_DIR: base }));
      await store.close();
      return { store: `sqlite:${path}`, insider: new SqliteInsider(path) };
    }
    case 'postgres':
      return openPostgres(name, base);
    case 'dynamodb':
      return openDynamo(name);
  }
}

function spawnProcess(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [PAYLOG_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr?.on('data', (c: Buffer) => { output += c.toString(); });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => output, exited };
}

async function crashBeforeSeal(holdSeal: HoldSeal, stream: string, start: (extra: Record<string, string>) => Spawned): Promise<void> {
  let sealer: Spawned | null = null;
  const hold = await holdSeal(stream, () => sealer?.child ?? null);
  try {
    sealer = start(hold.env);
    const started = sealer;
    const early = started.exited.then((code) => { throw new Error(`the sealer exited (${code}) before its seal was held: ${started.output()}`); });
    early.catch(() => undefined); // once killed, it exits: only an exit before the hold matters
    await Promise.race([hold.held, early, deadline('the seal commit to be held')]);
    await stopProcess(started.child, 'SIGKILL');
  } finally {
    await hold.release();
  }
}

function deadline(what: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_DEADLINE_MS).unref());
}


// ---- forging, as the insider does it: the format is public, the key is not ----

/** A stream id of the right form. */
export function forgedStreamId(): string {
  return newId('str', Date.now(), randomBytes(16));
}

export function forgedPaymentId(): string {
  return newId('txn', Date.now(), randomBytes(16));
}

/** Drafts of an invented, successful card payment. */
export function inventedPayment(id = forgedPaymentId()): RecordDraft[] {
  const origin = { requestId: `req_forged_${id.slice(-6)}`, traceId: null, ip: '203.0.113.7' };
  const base = { actor: 'key:acme', origin, resource: id, reason: null };
  return [
    { ...base, type: 'payment.received', outcome: 'success', data: { amount: 990_000, currency: 'USD', merchantId: 'acme' } },
    { ...base, type: 'payment.succeeded', outcome: 'success', data: { amount: 990_000, currency: 'USD' } },
  ];
}

export function startedDraft(): RecordDraft {
  return {
    type: 'journal.started', actor: 'system:serve', origin: { requestId: null, traceId: null, ip: null }, resource: null,
    outcome: 'success', reason: null, data: { role: 'serve', writer: 'insider:1', version: '0.1.0' },
  };
}

/**
 * Records placed after `after` (a stream's last record, or the start of stream `stream`),
 * each correctly chained to the one before; `ts(i)` dates the i-th.
 */
export function forgeChain(after: AuditRecord | { stream: string }, drafts: RecordDraft[], ts: (i: number) => string): AuditRecord[] {
  const records: AuditRecord[] = [];
  let prev = 'hash' in after ? after : null;
  drafts.forEach((draft, i) => {
    const record = sealRecord(draft, {
      journal: prev?.journal ?? JOURNAL, stream: prev?.stream ?? after.stream, seq: (prev?.seq ?? 0) + 1, prev: prev?.hash ?? GENESIS_PREV, ts: ts(i),
    });
    records.push(record);
    prev = record;
  });
  return records;
}

/** A stream registration like a writer's, with the given start and lease times. */
export function forgedStream(id: string, startedAt: string, leaseExpiresAt: string): NewStream {
  return { id, journal: JOURNAL, writer: 'insider:1', startedAt, leaseExpiresAt };
}

/** Asserts that `head` is a head of `stream` validly signed under the published key, saying the size and root it claims; returns it. */
export function expectValidHead(head: SignedHead | null, verifierKey: string, stream: string): SignedHead {
  expect(head, `stream ${stream} has no signed head`).not.toBeNull();
  const check = checkCheckpoint((head as SignedHead).note, [{ key: parseVerifierKey(verifierKey), validFrom: null, validUntil: null }], checkpointOrigin(JOURNAL, stream));
  expect(check.ok, JSON.stringify(check)).toBe(true);
  if (check.ok) expect({ size: check.body.size, root: check.body.root }).toEqual({ size: head?.size, root: head?.root });
  return head as SignedHead;
}

// ---- SQLite: the file itself ----

class SqliteInsider implements Insider {
  constructor(private readonly path: string) {}

  private use<T>(run: (db: Database.Database) => T): T {
    const db = new Database(this.path, { timeout: 5_000 });
    try {
      return run(db);
    } finally {
      db.close();
    }
  }

  async createStream(s: NewStream): Promise<void> {
    this.use((db) => db.prepare("INSERT INTO streams (id, journal, started_at, writer, lease_expires_at, state) VALUES (?, ?, ?, ?, ?, 'open')")
      .run(s.id, s.journal, s.startedAt, s.writer, s.leaseExpiresAt));
  }

  async append(records: AuditRecord[]): Promise<void> {
    this.use((db) => {
      const insert = db.prepare('INSERT INTO journal (stream, seq, hash, resource, type, ts, body) VALUES (?, ?, ?, ?, ?, ?, ?)');
      db.transaction(() => {
        for (const r of records) insert.run(r.stream, r.seq, r.hash, r.resource, r.type, r.ts, recordLine(r));
      })();
    });
  }

  async reopen(stream: string, leaseExpiresAt: string): Promise<void> {
    this.use((db) => db.prepare("UPDATE streams SET state = 'open', closed_by = NULL, closed_at = NULL, lease_expires_at = ? WHERE id = ?").run(leaseExpiresAt, stream));
  }

  async setHead(stream: string, head: SignedHead): Promise<void> {
    this.use((db) => db.prepare('UPDATE streams SET head_size = ?, head_root = ?, head_note = ? WHERE id = ?').run(head.size, head.root, head.note, stream));
  }

  async deleteFrom(stream: string, fromSeq: number): Promise<void> {
    this.use((db) => {
      expect(() => db.prepare('DELETE FROM journal WHERE stream = ? AND seq >= ?').run(stream, fromSeq)).toThrow(/append-only/);
      dropTriggers(db);
      db.prepare('DELETE FROM journal WHERE stream = ? AND seq >= ?').run(stream, fromSeq);
    });
  }

  async stream(id: string): Promise<StreamRow> {
    const row = this.use((db) => db.prepare(`SELECT id, state, lease_expires_at AS leaseExpiresAt, closed_by AS closedBy,
      head_size AS headSize, head_root AS headRoot, head_note AS headNote FROM streams WHERE id = ?`).get(id)) as SqlStreamRow | undefined;
    return streamRow(id, row);
  }

  async records(stream: string): Promise<AuditRecord[]> {
    return this.use((db) => db.prepare('SELECT body FROM journal WHERE stream = ? ORDER BY seq').pluck().all(stream) as string[]).map(parseRecord);
  }

  async checkpointSizes(stream: string): Promise<number[]> {
    return this.use((db) => db.prepare('SELECT size FROM checkpoints WHERE stream = ? ORDER BY size').pluck().all(stream) as number[]);
  }

  async recordsOfType(type: RecordType): Promise<AuditRecord[]> {
    return this.use((db) => db.prepare('SELECT body FROM journal WHERE type = ? ORDER BY stream, seq').pluck().all(type) as string[]).map(parseRecord);
  }

  async close(): Promise<void> {}
}

interface SqlStreamRow {
  id: string;
  state: StreamRow['state'];
  leaseExpiresAt: string;
  closedBy: string | null;
  headSize: number | null;
  headRoot: string | null;
  headNote: string | null;
}

function streamRow(id: string, row: SqlStreamRow | undefined): StreamRow {
  if (!row) throw new Error(`no stream ${id} in the store`);
  const head = row.headSize === null || row.headRoot === null || row.headNote === null ? null : { stream: row.id, size: Number(row.headSize), root: row.headRoot, note: row.headNote };
  return { id: row.id, state: row.state, leaseExpiresAt: row.leaseExpiresAt, closedBy: row.closedBy, head };
}

const parseRecord = (body: string): AuditRecord => JSON.parse(body) as AuditRecord;

// ---- PostgreSQL: the service's role, as docs/deploy-postgres.md recommends it ----

async function openPostgres(name: string, base: string): Promise<OpenedStore> {
  const ownerUrl = await freshDatabase(inject('postgresUrl'), `insider_${name}`);
  // The owner migrates; the service, and the insider with its credentials, then run as a role with only the recommended rights.
  const migrated = await openStore(loadConfig({}, { PAYLOG_STORE: ownerUrl, PAYLOG_DATA_DIR: base }));
  await migrated.close();
  const database = new URL(ownerUrl).pathname.slice(1);
  const role = `${database}_service`;
  const owner = new pg.Pool({ connectionString: ownerUrl, max: 2 });
  await owner.query(`CREATE ROLE ${role} LOGIN`);
  await owner.query(`GRANT SELECT ON schema_migrations TO ${role}`);
  await owner.query(`GRANT SELECT, INSERT ON journal, checkpoints, journal_tree TO ${role}`);
  await owner.query(`GRANT SELECT, INSERT, UPDATE ON journal_tree_heads TO ${role}`);
  await owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON streams, payments, idempotency, api_keys, gateway_ledger TO ${role}`);
  const roleUrl = ownerUrl.replace('//postgres@', `//${role}@`);
  const insider = new PostgresInsider(new pg.Pool({ connectionString: roleUrl, max: 2 }), owner);
  const holdSeal: HoldSeal = async (stream) => {
    // A seal's commit starts by locking the streams it changes (paylog_lock_batch, SELECT … FOR UPDATE), the
    // sealed one included, before it writes anything: holding that row's lock holds the seal's commit there and nothing else.
    const locker = await owner.connect();
    await locker.query('BEGIN');
    await locker.query('SELECT id FROM streams WHERE id = $1 FOR UPDATE', [stream]);
    const { rows: [me] } = await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const held = waitFor('a commit waiting for the sealed stream\'s lock', async () => {
      const { rows } = await owner.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.datname = current_database() AND a.pid <> $1 AND (a.query LIKE '%paylog_lock_batch%' OR a.query LIKE '%FOR UPDATE%')",
        [me?.pid],
      );
      return (rows[0]?.n ?? 0) > 0;
    });
    return {
      env: {}, held,
      async release() {
        await locker.query('ROLLBACK');
        locker.release();
      },
    };
  };
  return { store: roleUrl, insider, holdSeal };
}

class PostgresInsider implements Insider {
  /** `db` has the service role's rights; `owner` is used only to read and for what an operator does. */
  constructor(private readonly db: pg.Pool, private readonly owner: pg.Pool) {}

  async createStream(s: NewStream): Promise<void> {
    await this.db.query("INSERT INTO streams (id, journal, started_at, writer, lease_expires_at, state) VALUES ($1, $2, $3, $4, $5, 'open')",
      [s.id, s.journal, s.startedAt, s.writer, s.leaseExpiresAt]);
  }

  async append(records: AuditRecord[]): Promise<void> {
    const client = await this.db.connect();
    try {
      await client.query('BEGIN');
      for (const r of records) {
        await client.query('INSERT INTO journal (stream, seq, hash, resource, type, ts, body) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [r.stream, r.seq, r.hash, r.resource, r.type, r.ts, recordLine(r)]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  }

  async reopen(stream: string, leaseExpiresAt: string): Promise<void> {
    await this.db.query("UPDATE streams SET state = 'open', closed_by = NULL, closed_at = NULL, lease_expires_at = $1 WHERE id = $2", [leaseExpiresAt, stream]);
  }

  async setHead(stream: string, head: SignedHead): Promise<void> {
    await this.db.query('UPDATE streams SET head_size = $1, head_root = $2, head_note = $3 WHERE id = $4', [head.size, head.root, head.note, stream]);
  }

  async deleteFrom(stream: string, fromSeq: number): Promise<void> {
    // The service's role may not delete records at all; an operator with DDL rights drops the guard first.
    await expect(this.db.query('DELETE FROM journal WHERE stream = $1 AND seq >= $2', [stream, fromSeq])).rejects.toThrow(/permission denied/);
    await this.owner.query('DROP TRIGGER journal_append_only ON journal');
    await this.owner.query('DELETE FROM journal WHERE stream = $1 AND seq >= $2', [stream, fromSeq]);
  }

  async stream(id: string): Promise<StreamRow> {
    const { rows } = await this.owner.query<SqlStreamRow>(`SELECT id, state, lease_expires_at AS "leaseExpiresAt", closed_by AS "closedBy",
      head_size::int AS "headSize", head_root AS "headRoot", head_note AS "headNote" FROM streams WHERE id = $1`, [id]);
    return streamRow(id, rows[0]);
  }

  async records(stream: string): Promise<AuditRecord[]> {
    const { rows } = await this.owner.query<{ body: string }>('SELECT body FROM journal WHERE stream = $1 ORDER BY seq', [stream]);
    return rows.map((r) => parseRecord(r.body));
  }

  async checkpointSizes(stream: string): Promise<number[]> {
    const { rows } = await this.owner.query<{ size: number }>('SELECT size::int AS size FROM checkpoints WHERE stream = $1 ORDER BY size', [stream]);
    return rows.map((r) => r.size);
  }

  async recordsOfType(type: RecordType): Promise<AuditRecord[]> {
    const { rows } = await this.owner.query<{ body: string }>('SELECT body FROM journal WHERE type = $1 ORDER BY stream, seq', [type]);
    return rows.map((r) => parseRecord(r.body));
  }

  async close(): Promise<void> {
    await this.db.end();
    await this.owner.end();
  }
}

// ---- DynamoDB: item writes with the SDK ----

async function openDynamo(name: string): Promise<OpenedStore> {
  const prefix = freshPrefix(`insider-${name}`);
  const store = `dynamodb://${prefix}?endpoint=${dynamoEndpoint()}`;
  await createTables({ url: store });
  const insider = new DynamoInsider(DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamoEndpoint(), region: DYNAMO_ENV.AWS_REGION })), prefix);
  let proxy: DynamoProxy | null = null;
  const holdSeal: HoldSeal = async (stream, victim) => {
    // The sealer talks to DynamoDB through a proxy. The seal is the one write that names the
    // sealed stream (one TransactWriteItems); when it goes out, the sealer is killed and the
    // request dropped before it reaches DynamoDB.
    proxy ??= await startDynamoProxy(dynamoEndpoint());
    const through = proxy;
    let sprung: () => void = () => undefined;
    const held = new Promise<void>((resolve) => { sprung = resolve; });
    let killed = false;
    through.decide = (request) => {
      if (!killed && request.action === 'TransactWriteItems' && request.body.includes(JSON.stringify(stream))) {
        killed = true;
        victim()?.kill('SIGKILL');
        sprung();
      }
      return killed ? 'drop-before' : 'pass';
    };
    return {
      env: { PAYLOG_STORE: `dynamodb://${prefix}?endpoint=${through.endpoint}` }, held,
      async release() {
        through.decide = () => 'pass';
      },
    };
  };
  return { store, insider, holdSeal, close: async () => { await proxy?.close(); } };
}

class DynamoInsider implements Insider {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly prefix: string) {}

  private table(name: 'streams' | 'journal' | 'checkpoints'): string {
    return tableName(this.prefix, name);
  }

  async createStream(s: NewStream): Promise<void> {
    // `open` puts it where a starting writer looks for lapsed streams; head 0 until records follow.
    await this.doc.send(new PutCommand({
      TableName: this.table('streams'),
      Item: { ...s, state: 'open', open: 'open', headSeq: 0, headHash: GENESIS_PREV },
    }));
  }

  async append(records: AuditRecord[]): Promise<void> {
    for (const r of records) {
      await this.doc.send(new PutCommand({
        TableName: this.table('journal'), Item: journalItem(r), ConditionExpression: 'attribute_not_exists(#seq)', ExpressionAttributeNames: { '#seq': 'seq' },
      }));
    }
    const last = records[records.length - 1] as AuditRecord;
    await this.doc.send(new UpdateCommand({
      TableName: this.table('streams'), Key: { id: last.stream },
      UpdateExpression: 'SET headSeq = :seq, headHash = :hash', ExpressionAttributeValues: { ':seq': last.seq, ':hash': last.hash },
    }));
  }

  async reopen(stream: string, leaseExpiresAt: string): Promise<void> {
    await this.doc.send(new UpdateCommand({
      TableName: this.table('streams'), Key: { id: stream },
      UpdateExpression: 'SET #state = :open, #open = :open, leaseExpiresAt = :lease REMOVE closedBy, closedAt',
      ExpressionAttributeNames: { '#state': 'state', '#open': 'open' }, ExpressionAttributeValues: { ':open': 'open', ':lease': leaseExpiresAt },
    }));
  }

  async setHead(stream: string, head: SignedHead): Promise<void> {
    await this.doc.send(new UpdateCommand({
      TableName: this.table('streams'), Key: { id: stream },
      UpdateExpression: 'SET headSize = :size, headRoot = :root, headNote = :note', ExpressionAttributeValues: { ':size': head.size, ':root': head.root, ':note': head.note },
    }));
  }

  async deleteFrom(stream: string, fromSeq: number): Promise<void> {
    for (const record of await this.records(stream)) {
      if (record.seq >= fromSeq) await this.doc.send(new DeleteCommand({ TableName: this.table('journal'), Key: { stream, seq: record.seq } }));
    }
  }

  async stream(id: string): Promise<StreamRow> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table('streams'), Key: { id }, ConsistentRead: true }));
    if (!item) throw new Error(`no stream ${id} in the store`);
    return {
      id, state: item.state as StreamRow['state'], leaseExpiresAt: item.leaseExpiresAt as string, closedBy: (item.closedBy as string | undefined) ?? null,
      head: typeof item.headNote === 'string' ? { stream: id, size: item.headSize as number, root: item.headRoot as string, note: item.headNote } : null,
    };
  }

  async records(stream: string): Promise<AuditRecord[]> {
    return (await this.query('journal', stream)).map((item) => parseRecord(item.body as string));
  }

  async checkpointSizes(stream: string): Promise<number[]> {
    return (await this.query('checkpoints', stream)).map((item) => item.size as number);
  }

  async recordsOfType(type: RecordType): Promise<AuditRecord[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new ScanCommand({
        TableName: this.table('journal'), ConsistentRead: true, ExclusiveStartKey: start,
        FilterExpression: '#type = :type', ExpressionAttributeNames: { '#type': 'type' }, ExpressionAttributeValues: { ':type': type },
      }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items.map((item) => parseRecord(item.body as string));
  }

  private async query(table: 'journal' | 'checkpoints', stream: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({
        TableName: this.table(table), ConsistentRead: true, ExclusiveStartKey: start,
        KeyConditionExpression: '#stream = :stream', ExpressionAttributeNames: { '#stream': 'stream' }, ExpressionAttributeValues: { ':stream': stream },
      }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  async close(): Promise<void> {
    this.doc.destroy();
  }
}
