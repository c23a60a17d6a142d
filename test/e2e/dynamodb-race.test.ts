import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/core/audit-record.js';
import { type DynamoFleet, type LedgerItem, startDynamoFleet, stopServer } from '../support/dynamodb-fleet.js';
import { APPROVE, type Answer, DECLINE_FUNDS, RETRY, type TestCard, paymentJson, postPayment } from '../support/load.js';
import type { ServerProcess } from '../support/process.js';
import { heldCount, holdClaimsEnv } from '../support/hold-claims.js';
import { waitFor } from '../support/wait.js';

/**
 * 50 concurrent requests with one Idempotency-Key, split across two `paylog serve` processes
 * on the same DynamoDB tables: the key's conditional claim is all that stands between them
 * and a second transaction.
 */

const RACERS = 50;
const CARDS: [string, TestCard][] = [['a success', APPROVE], ['a decline', DECLINE_FUNDS], ['a retry (503, then approved)', RETRY]];

describe('50 concurrent requests with one Idempotency-Key over two serve processes on DynamoDB', () => {
  let fleet: DynamoFleet;
  let servers: ServerProcess[] = [];
  const answers = new Map<TestCard, Answer[]>();
  let exitCodes: (number | null)[] = [];
  let records: AuditRecord[] = [];
  let ledger: LedgerItem[] = [];
  let holdDir: string | null = null;

  beforeAll(async () => {
    // The request that wins the key is held at its gateway call while the hold file exists, so
    // every other racer arrives while it runs; its gateway budget and attempt timeout outlast that.
    holdDir = mkdtempSync(join(tmpdir(), 'paylog-race-hold-'));
    const holdFile = join(holdDir, 'hold');
    fleet = await startDynamoFleet('race', {
      ...holdClaimsEnv(holdFile),
      PAYLOG_GATEWAY_BUDGET_MS: '20000', PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '10000', PAYLOG_IDEMPOTENCY_LEASE_MS: '30000',
    });
    servers = await Promise.all([fleet.serve(), fleet.serve()]);
    const held = (): number => servers.reduce((n, s) => n + heldCount(s.output()), 0);
    try {
      for (const [, card] of CARDS) {
        const body = paymentJson(card);
        const key = keyOf(card);
        writeFileSync(holdFile, '');
        const heldBefore = held();
        let answered = 0;
        const racing = Promise.all(Array.from({ length: RACERS }, async (_, i) => {
          const answer = await postPayment((servers[i % 2] as ServerProcess).url, fleet.secret, key, body);
          answered++;
          return answer;
        }));
        // Every racer is answered or held after winning the claim (two held would be two winners: the checks below say so).
        await waitFor(() => `the racers (${answered} answered, ${held() - heldBefore} held)`, () => answered + held() - heldBefore === RACERS);
        rmSync(holdFile);
        answers.set(card, await racing);
      }
    } finally {
      exitCodes = await Promise.all(servers.map(stopServer));
    }
    records = await fleet.exportRecords();
    ledger = await fleet.ledger();
  }, 60_000);
  afterAll(async () => {
    await fleet?.close();
    if (holdDir) rmSync(holdDir, { recursive: true, force: true });
  });

  function keyOf(card: TestCard): string {
    // Not the whole number: a key that looks like a card number is recorded redacted.
    return `race-${card.number.slice(-4)}`;
  }

  it('both servers shut down cleanly', () => {
    expect(exitCodes).toEqual([0, 0]);
  });

  it.each(CARDS)('%s: exactly one transaction; every other answer is a byte-identical replay or 409 idempotency_key_in_use', (_, card) => {
    const results = answers.get(card) as Answer[];
    const summary = JSON.stringify(results.map((r) => [r.status, r.replayed, r.code]));
    const originals = results.filter((r) => r.status === card.status && !r.replayed);
    const replays = results.filter((r) => r.status === card.status && r.replayed);
    const conflicts = results.filter((r) => r.status === 409 && r.code === 'idempotency_key_in_use');
    expect(originals, summary).toHaveLength(1);
    expect(originals.length + replays.length + conflicts.length, summary).toBe(RACERS);
    expect(conflicts.length, `${summary}: every racer but the winner arrived while it was held`).toBe(RACERS - 1);
    const original = originals[0] as Answer;
    expect(original.payment).toMatchObject({ id: expect.stringMatching(/^txn_/), status: card.paymentStatus });
    for (const r of replays) expect(r.text).toBe(original.text);

    // The journal holds one payment for the key, and a record of every replay and conflict.
    const key = keyOf(card);
    const ofKey = records.filter((r) => r.data.idempotencyKey === key);
    expect(ofKey.filter((r) => r.type === 'payment.received').map((r) => r.resource)).toEqual([original.payment?.id]);
    expect(ofKey.filter((r) => r.type === 'idempotency.replayed')).toHaveLength(replays.length);
    expect(ofKey.filter((r) => r.type === 'idempotency.conflict')).toHaveLength(conflicts.length);
    // Each process journaled the requests it answered, in its own stream.
    const serveStreams = records.filter((r) => r.type === 'journal.started' && r.data.role === 'serve').map((r) => r.stream);
    expect(serveStreams).toHaveLength(2);
    for (const r of ofKey) expect(serveStreams).toContain(r.stream);

    // The gateway was called for that payment alone, as often as the card needs: charged once.
    const payments = new Set(records.filter((r) => r.type === 'payment.received').map((r) => r.resource));
    const entries = ledger.filter((e) => e.gatewayKey === original.payment?.id);
    expect(entries).toEqual([expect.objectContaining({ calls: card.calls, outcome: card.paymentStatus === 'succeeded' ? 'approved' : 'declined' })]);
    expect(ledger.every((e) => payments.has(e.gatewayKey))).toBe(true);
  });

  it('no other payment was created, and `paylog verify` exits 0 with every stream stopped', async () => {
    expect(records.filter((r) => r.type === 'payment.received')).toHaveLength(CARDS.length);
    expect(ledger).toHaveLength(CARDS.length);
    const verify = await fleet.verify();
    expect(verify.status, verify.output).toBe(0);
    expect(verify.report.streams.map((s) => s.end)).toEqual(verify.report.streams.map(() => 'stopped'));
  });
});
