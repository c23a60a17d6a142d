import { headOfLine } from '../../src/core/signed-head.js';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import { type TableName, createTables, tableName } from '../../src/adapters/store/dynamodb/index.js';
import { createApiKey } from '../../src/app/api-keys.js';
import { startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import type { AuditRecord } from '../../src/core/audit-record.js';
import type { StreamEnd } from '../../src/core/chain-verifier.js';
import { signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { DYNAMO_ENV, dynamoEndpoint, dynamoUrl, freshPrefix } from './dynamodb.js';
import { GATEWAY_ATTEMPTS_MAX, LOAD_GATEWAY_BUDGET_MS, LOAD_GATEWAY_ENV, type LoadLog, type PaymentStatus, type TestCard, cardOfLast4 } from './load.js';
import { type ServerProcess, runPaylogAsync, startServerProcess, stopProcess } from './process.js';
import { waitUntil } from './wait.js';

/**
 * Helpers for the end-to-end tests that run several real `paylog serve` processes on the
 * run's DynamoDB Local (races, kill -9, fleets). Everything goes through the HTTP API and
 * the CLI; the only tables read directly are the simulated gateway's ledger (what the
 * "card network" charged, which no API exposes) and nothing of the journal's internals.
 */

/**
 * A writer's lease on its stream: a killed writer's stream may be sealed this long after its
 * death. Long enough that a live writer, renewing it every checkpoint interval (300 ms), never
 * loses it on this busy 2-core machine, even while three instances start at once.
 */
export const STREAM_LEASE_MS = 2_500;
/** An Idempotency-Key whose request died is taken over this long after its claim (it must exceed the budget). */
export const IDEMPOTENCY_LEASE_MS = 2_500;
export const MERCHANT = 'acme';

export interface VerifyReport {
  valid: boolean;
  streams: { stream: string; records: number; end: StreamEnd; valid: boolean }[];
  problems: { stream: string; seq: number | null; kind: string; message: string }[];
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * One store on the run's DynamoDB Local and everything its paylog processes share: tables,
 * signing key, fingerprint key and an API key. Each process gets a data dir of its own.
 */
export interface DynamoFleet {
  store: string;
  prefix: string;
  secret: string;
  /** The journal's verifier key (what `paylog keys public` prints for the shared signing key). */
  verifierKey: string;
  env(extra?: Record<string, string>): Record<string, string>;
  serve(extra?: Record<string, string>): Promise<ServerProcess>;
  paylog(args: string[], extra?: Record<string, string>): Promise<CommandResult>;
  /** `paylog verify --store … --key … --json`. */
  verify(): Promise<{ status: number | null; report: VerifyReport; output: string }>;
  /** `paylog reconcile --store …` of every payment processing (none may stay so); returns how many it settled. */
  reconcile(): Promise<number>;
  /** `paylog export --store …`, parsed. */
  exportRecords(): Promise<AuditRecord[]>;
  /** The simulated gateway's ledger: one item per gateway key (the payment ID). */
  ledger(): Promise<LedgerItem[]>;
  /** Kills every server still running and removes the data dirs. */
  close(): Promise<void>;
}

export interface LedgerItem {
  gatewayKey: string;
  calls: number;
  outcome: 'approved' | 'declined' | null;
  amount: number;
}

export async function startDynamoFleet(name: string, settings: Record<string, string> = {}): Promise<DynamoFleet> {
  const prefix = freshPrefix(name);
  const store = dynamoUrl(prefix);
  await createTables({ url: store });
  const base = mkdtempSync(join(tmpdir(), `paylog-${name}-`));
  const keyFile = join(base, 'signing-key.pem');
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  const shared: Record<string, string> = {
    ...DYNAMO_ENV,
    PAYLOG_STORE: store, PAYLOG_SIGNING_KEY_FILE: keyFile, PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
    PAYLOG_RECONCILE_INTERVAL_MS: '0', PAYLOG_RATE_LIMIT: '0',
    // The simulated gateway keeps its ledger in DynamoDB Local too, whose calls can take hundreds
    // of milliseconds on a busy 2-core machine: FAST_GATEWAY_ENV's 60 ms attempt timeout and 1 s
    // budget would turn approvals into timeouts (202) and retries into failures (503). No card
    // used here waits for a timeout, so a generous one costs nothing.
    ...LOAD_GATEWAY_ENV,
    PAYLOG_CHECKPOINT_INTERVAL_MS: '300', PAYLOG_STREAM_LEASE_MS: String(STREAM_LEASE_MS), PAYLOG_IDEMPOTENCY_LEASE_MS: String(IDEMPOTENCY_LEASE_MS),
    ...settings,
  };
  let dirs = 0;
  const servers: ServerProcess[] = [];
  // Starts still under way, so close() also stops a server that was starting when a test failed.
  const starting: Promise<unknown>[] = [];
  const env = (extra: Record<string, string> = {}): Record<string, string> => {
    dirs += 1;
    const dir = join(base, `process-${dirs}`);
    return { ...shared, PAYLOG_DATA_DIR: dir, ...extra };
  };
  const paylog = (args: string[], extra: Record<string, string> = {}): Promise<CommandResult> => runPaylogAsync(args, env(extra));
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamoEndpoint(), region: DYNAMO_ENV.AWS_REGION }));

  // In this process: a paylog CLI process would cost a second of start-up, twice per fleet.
  let secret: string;
  let verifierKey: string;
  try {
    const services = await startServices(loadConfig({}, env()), { role: 'test' });
    try {
      secret = (await createApiKey(services.ctx, services.system, MERCHANT, null)).secret;
    } finally {
      await services.close();
    }
    verifierKey = verifierKeyOf(signerFromPrivateKey(services.config.journalName, privateKey));
  } catch (err) {
    doc.destroy();
    rmSync(base, { recursive: true, force: true });
    throw err;
  }

  return {
    store, prefix, secret, verifierKey, env, paylog,
    serve(extra = {}) {
      const started = startServerProcess(env(extra)).then((server) => {
        servers.push(server);
        return server;
      });
      starting.push(started);
      return started;
    },
    async verify() {
      const result = await paylog(['verify', '--store', store, '--key', verifierKey, '--json']);
      const output = `${result.stdout}${result.stderr}`;
      let report: VerifyReport;
      try {
        report = JSON.parse(result.stdout) as VerifyReport;
      } catch {
        throw new Error(`paylog verify printed no JSON report (exit ${result.status}): ${output}`);
      }
      return { status: result.status, report, output };
    },
    async reconcile() {
      // Reconciliation waits out the gateway's whole retry budget: until the newest payment left processing is that old.
      let newest = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(new ScanCommand({ TableName: tableName(prefix, 'payments'), ConsistentRead: true, ExclusiveStartKey: start }));
        for (const item of page.Items ?? []) if (item.status === 'processing') newest = Math.max(newest, Date.parse(String(item.updatedAt)));
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      await waitUntil(newest + LOAD_GATEWAY_BUDGET_MS);
      const result = await paylog(['reconcile', '--store', store], { PAYLOG_RECONCILE_AFTER_MS: String(LOAD_GATEWAY_BUDGET_MS) });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).not.toMatch(/still processing/);
      const settled = /Reconciled (\d+) payments?/.exec(result.stdout);
      expect(settled, result.stdout).not.toBeNull();
      return Number(settled?.[1]);
    },
    async exportRecords() {
      const result = await paylog(['export', '--store', store]);
      expect(result.status, result.stderr).toBe(0);
      // The records; each stream's signed head line is left out.
      return result.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown).filter((v) => headOfLine(v) === null) as AuditRecord[];
    },
    async ledger() {
      const items: LedgerItem[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(new ScanCommand({ TableName: tableName(prefix, 'gatewayLedger'), ConsistentRead: true, ExclusiveStartKey: start }));
        items.push(...((page.Items ?? []) as LedgerItem[]));
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      return items;
    },
    async close() {
      await Promise.allSettled(starting);
      for (const server of servers) await stopProcess(server.child, 'SIGKILL');
      doc.destroy();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Stops a server with SIGTERM and returns its exit code (0 when it closed its stream cleanly). */
export function stopServer(server: ServerProcess): Promise<number | null> {
  return stopProcess(server.child, 'SIGTERM');
}

const WRITE_ACTIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/**
 * Whether a DynamoDB request, as test/support/dynamodb-proxy.ts sees it, writes to one of the
 * store's tables (alone, or as part of a batch or transaction).
 */
export function writesTo(request: { action: string; body: string }, prefix: string, table: TableName): boolean {
  return WRITE_ACTIONS.has(request.action) && request.body.includes(JSON.stringify(tableName(prefix, table)));
}

const OUTCOMES = new Set(['payment.succeeded', 'payment.declined', 'payment.failed', 'payment.processing']);
const FINAL_STATUS: Record<string, PaymentStatus> = {
  'payment.succeeded': 'succeeded', 'payment.declined': 'declined', 'payment.failed': 'failed', 'payment.processing': 'processing',
};

interface PaymentTrail {
  id: string;
  key: string | null;
  amount: number;
  card: TestCard | undefined;
  outcomes: AuditRecord[];
  reconciled: AuditRecord[];
}

/** The journal's story of every payment: its key, card, outcome records and reconciliations. */
function paymentTrails(records: AuditRecord[]): Map<string, PaymentTrail> {
  const trails = new Map<string, PaymentTrail>();
  for (const r of records) {
    if (r.type !== 'payment.received' || r.resource === null) continue;
    const card = r.data.card as { last4: string };
    trails.set(r.resource, { id: r.resource, key: r.data.idempotencyKey as string | null, amount: r.data.amount as number, card: cardOfLast4(card.last4), outcomes: [], reconciled: [] });
  }
  for (const r of records) {
    const trail = r.resource === null ? undefined : trails.get(r.resource);
    if (!trail) continue;
    if (OUTCOMES.has(r.type)) trail.outcomes.push(r);
    if (r.type === 'payment.reconciled') trail.reconciled.push(r);
  }
  return trails;
}

/**
 * The journal after a load with crashes, once `paylog reconcile` ran:
 * - one payment.received per Idempotency-Key the load sent, and it is the payment every
 *   answer for that key named;
 * - every payment has at most one outcome record, and ends settled: a final outcome, or
 *   processing (or no outcome, if its writer died) followed by exactly one payment.reconciled.
 *   A final outcome followed by payment.reconciled means the payment read `processing` after
 *   its outcome was journaled: the read model fell behind the journal;
 * - every answered payment's final status in the journal is the acknowledged one (or any, for processing).
 * Returns the trails for further checks.
 */
function expectJournalSettled(records: AuditRecord[], log: LoadLog): Map<string, PaymentTrail> {
  const trails = paymentTrails(records);
  const byKey = new Map<string, string[]>();
  for (const trail of trails.values()) if (trail.key !== null) byKey.set(trail.key, [...(byKey.get(trail.key) ?? []), trail.id]);
  const keyProblems: string[] = [];
  for (const key of log.sent.keys()) {
    const ids = byKey.get(key) ?? [];
    if (ids.length !== 1) keyProblems.push(`key ${key}: ${ids.length} payment.received (${ids.join(', ')})`);
    for (const id of log.idsByKey.get(key) ?? []) if (!ids.includes(id)) keyProblems.push(`key ${key}: answered ${id}, journaled ${ids.join(', ')}`);
  }
  expect(keyProblems).toEqual([]);

  const unsettled: string[] = [];
  for (const trail of trails.values()) {
    const outcome = trail.outcomes[0]?.type;
    const final = outcome !== undefined && outcome !== 'payment.processing';
    if (trail.outcomes.length > 1) unsettled.push(`${trail.id}: ${trail.outcomes.length} outcome records`);
    else if (final && trail.reconciled.length > 0) unsettled.push(`${trail.id}: ${outcome} in the journal, yet reconciled from processing afterwards`);
    else if (!final && trail.reconciled.length !== 1) unsettled.push(`${trail.id}: ${outcome ?? 'no outcome'} and ${trail.reconciled.length} payment.reconciled`);
  }
  expect(unsettled).toEqual([]);

  const changed: string[] = [];
  for (const ack of log.acked.values()) {
    const status = finalStatus(trails.get(ack.id));
    if (ack.paymentStatus !== 'processing' && status !== ack.paymentStatus) changed.push(`${ack.id}: acknowledged ${ack.paymentStatus}, journal says ${status}`);
  }
  expect(changed).toEqual([]);
  return trails;
}

function finalStatus(trail: PaymentTrail | undefined): string | undefined {
  if (!trail) return undefined;
  const reconciled = trail.reconciled.at(-1);
  if (reconciled) return reconciled.data.status as string;
  const outcome = trail.outcomes.at(-1);
  return outcome ? FINAL_STATUS[outcome.type] : undefined;
}

/**
 * The gateway's ledger against the journal: every charge belongs to a journaled payment (one
 * gateway key per payment, never two payments charged for one Idempotency-Key), no payment
 * was called more often than its card needs, and a payment is succeeded exactly when the
 * gateway approved it — nothing charged without being recorded, nothing recorded unpaid.
 */
function expectLedgerMatches(ledger: LedgerItem[], trails: Map<string, PaymentTrail>): void {
  const problems: string[] = [];
  const chargedKeys = new Map<string, string>();
  for (const entry of ledger) {
    const trail = trails.get(entry.gatewayKey);
    if (!trail) {
      problems.push(`gateway key ${entry.gatewayKey}: charged (${entry.outcome}) but no payment.received`);
      continue;
    }
    if (entry.amount !== trail.amount) problems.push(`${trail.id}: ledger amount ${entry.amount}, journal ${trail.amount}`);
    if (entry.outcome === 'approved' && trail.key !== null) {
      const other = chargedKeys.get(trail.key);
      if (other) problems.push(`key ${trail.key}: charged twice, as ${other} and ${trail.id}`);
      chargedKeys.set(trail.key, trail.id);
    }
    const answered = trail.outcomes.some((o) => o.type !== 'payment.processing');
    const expectedCalls = answered ? trail.card?.calls ?? null : null;
    if (expectedCalls !== null ? entry.calls !== expectedCalls : entry.calls > GATEWAY_ATTEMPTS_MAX) {
      problems.push(`${trail.id} (card ${trail.card?.number}): ${entry.calls} gateway calls`);
    }
    const status = finalStatus(trail);
    if ((entry.outcome === 'approved') !== (status === 'succeeded')) problems.push(`${trail.id}: gateway ${entry.outcome}, journal ${status}`);
  }
  // A payment the gateway never saw cannot have succeeded.
  const inLedger = new Set(ledger.map((e) => e.gatewayKey));
  for (const trail of trails.values()) {
    if (!inLedger.has(trail.id) && finalStatus(trail) === 'succeeded') problems.push(`${trail.id}: succeeded without a gateway charge`);
  }
  expect(problems).toEqual([]);
}

/**
 * Once every instance stopped or died and `paylog reconcile` ran: `paylog verify` exits 0 with
 * every stream stopped but the dead instance's, sealed after its crash; the journal tells a
 * settled story for every key and payment (expectJournalSettled) that the gateway's ledger
 * bears out (expectLedgerMatches). Returns the exported records.
 */
export async function expectAftermath(fleet: DynamoFleet, log: LoadLog, deadStream: string): Promise<AuditRecord[]> {
  const verify = await fleet.verify();
  expect(verify.status, verify.output).toBe(0);
  expect(verify.report.valid).toBe(true);
  expect(verify.report.streams.filter((s) => s.end !== 'stopped').map((s) => [s.stream, s.end])).toEqual([[deadStream, 'sealed_after_crash']]);
  const records = await fleet.exportRecords();
  expectLedgerMatches(await fleet.ledger(), expectJournalSettled(records, log));
  return records;
}
