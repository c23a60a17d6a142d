import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILURES_PER_MINUTE_DEFAULT } from '../../src/config/config.js';
import { paymentBody } from '../support/harness.js';
import { createKeyWithCli } from '../support/cli.js';
import { type ServerProcess, runPaylog, startServerProcess, stopProcess } from '../support/process.js';

const FLOOD_REQUESTS = 10_000;
const CONCURRENCY = 48;
/** The flood comes from four loopback addresses (Linux routes all of 127/8 to lo); the merchant pays from 127.0.0.1. */
const FLOOD_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
/** Records a server writes on its own in the test's time (checkpoints, journal.stopped). */
const SERVER_RECORDS_MAX = 10;

interface Answer {
  status: number;
  body: string;
}

function send(agent: Agent, url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { agent, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

function journalStats(db: Database.Database): { total: number; payment: number } {
  const total = (db.prepare('SELECT count(*) FROM journal').pluck().get() as number);
  const payment = (db.prepare("SELECT count(*) FROM journal WHERE type LIKE 'payment.%' OR type LIKE 'idempotency.%'").pluck().get() as number);
  return { total, payment };
}

describe('a flood of bad API keys (issue 13 item 4)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let secret: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-auth-flood-'));
    env = { PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0' };
    secret = createKeyWithCli(env);
    server = await startServerProcess(env);
  });
  afterAll(async () => {
    if (server) await stopProcess(server.child, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('10,000 bad-key requests from four addresses over real HTTP: every payment of a valid key succeeds meanwhile, and the journal gains a bounded number of records', async () => {
    const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    const before = journalStats(db);
    const agents = FLOOD_ADDRESSES.map((localAddress) => new Agent({ keepAlive: true, maxSockets: CONCURRENCY / FLOOD_ADDRESSES.length, localAddress }));
    const merchantAgent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.1' });
    const statuses = new Map<number, number>();
    const transportErrors: string[] = [];
    let sent = 0;
    let flooding = true;
    const startedMs = Date.now();

    const flooder = async (agent: Agent): Promise<void> => {
      while (sent < FLOOD_REQUESTS) {
        sent++;
        // A well-formed secret nobody holds: without the limit, each one would cost a store read.
        const res = await send(agent, server.url, 'GET', '/v1/payments', { authorization: `Bearer sk_test_${randomBytes(32).toString('base64url')}` })
          .catch((err: unknown) => ({ status: 0, body: String(err) }));
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 0) transportErrors.push(res.body);
      }
    };
    const payments: Answer[] = [];
    const payer = async (): Promise<void> => {
      while (flooding || payments.length < 10) {
        const body = JSON.stringify(paymentBody());
        payments.push(await send(merchantAgent, server.url, 'POST', '/v1/payments', {
          authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': `flood-${payments.length}`,
        }, body).catch((err: unknown) => ({ status: 0, body: String(err) })));
      }
    };

    const paying = payer();
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => flooder(agents[i % agents.length] as Agent)));
    const floodMs = Date.now() - startedMs;
    flooding = false;
    await paying;
    const endedMs = Date.now();
    for (const agent of [...agents, merchantAgent]) agent.destroy();

    const seen = `${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')} ${transportErrors.slice(0, 3).join(' | ')}; payments: ${payments.filter((p) => p.status !== 201).map((p) => `${p.status} ${p.body}`).join(' | ')}`;
    expect([...statuses.keys()].sort(), seen).toEqual([401, 429]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(FLOOD_REQUESTS);
    expect(payments.map((p) => p.status), seen).toEqual(payments.map(() => 201));

    // SIGTERM: the minute's counts are written before the journal closes.
    expect(await stopProcess(server.child, 'SIGTERM'), server.output()).toBe(0);
    const after = journalStats(db);
    const failed = db.prepare(`SELECT body FROM journal WHERE type = 'auth.failed' AND json_extract(body, '$.origin.ip') IN (${FLOOD_ADDRESSES.map(() => '?').join(', ')})`)
      .pluck().all(...FLOOD_ADDRESSES).map((body) => JSON.parse(body as string) as { data: { summary?: boolean; count?: number } });
    db.close();

    const minutes = Math.floor(endedMs / 60_000) - Math.floor(startedMs / 60_000) + 1;
    const summaries = failed.filter((r) => r.data.summary === true);
    const gained = after.total - before.total;
    const paymentRecords = after.payment - before.payment;
    console.log(`auth flood: ${FLOOD_REQUESTS} bad-key requests (${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')}) from ${FLOOD_ADDRESSES.length} addresses at concurrency ${CONCURRENCY} in ${floodMs} ms; `
      + `${payments.length} payments, all 201; journal +${gained} records: ${failed.length} auth.failed (${summaries.length} summaries), ${paymentRecords} of payments, ${gained - failed.length - paymentRecords} other; over ${minutes} calendar minute(s)`);

    const numbers = `${failed.length} auth.failed, ${statuses.get(401)} 401s, +${gained} records, ${paymentRecords} of payments, ${minutes} minute(s)`;
    // At most the limit's records and one summary per address and minute.
    expect(failed.length, numbers).toBeLessThanOrEqual(FLOOD_ADDRESSES.length * (AUTH_FAILURES_PER_MINUTE_DEFAULT + 1) * minutes);
    // Keys looked up: the limit, plus at most the lookups already under way when it was reached.
    expect(statuses.get(401), numbers).toBeLessThanOrEqual(FLOOD_ADDRESSES.length * (AUTH_FAILURES_PER_MINUTE_DEFAULT + CONCURRENCY / FLOOD_ADDRESSES.length) * minutes);
    // The journal grows by a bounded amount, payments' own records aside: a few hundred at most.
    expect(gained - paymentRecords, numbers).toBeLessThanOrEqual(FLOOD_ADDRESSES.length * (AUTH_FAILURES_PER_MINUTE_DEFAULT + 1) * minutes + SERVER_RECORDS_MAX);
    // Truthful: the records and the summaries' counts add up to every request of the flood.
    expect(failed.reduce((n, r) => n + (r.data.summary === true ? (r.data.count as number) : 1), 0), numbers).toBe(FLOOD_REQUESTS);

    const verified = runPaylog(['verify'], env);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
  }, 180_000);
});
