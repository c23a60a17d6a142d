import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TableNames, planCommit } from '../../src/adapters/store/dynamodb/commit-plan.js';
import { TABLES, type TableName, createTables, openDynamoStore, tableName } from '../../src/adapters/store/dynamodb/index.js';
import { type StoredClaim, judgeClaim, winsInCommit } from '../../src/adapters/store/shared/claim-rules.js';
import type { KeyClaim } from '../../src/ports/idempotency-store.js';
import type { CommitUnit } from '../../src/ports/journal-store.js';
import { ClaimsTakenError, type Store, StoreUnavailableError } from '../../src/ports/store.js';
import { LEASE_MS, type StreamBuilder, TTL_MS, at, claim, openStream, payment } from '../contract/fixtures.js';
import { type DynamoProxy, startDynamoProxy } from '../support/dynamodb-proxy.js';
import { dynamoEndpoint, freshPrefix } from '../support/dynamodb.js';

/**
 * Keys claimed inside a journal commit on DynamoDB (IdempotencyUpdate.claim): the Put's
 * condition decides exactly as judgeClaim does, and a batch of several transactions never
 * leaves an earlier transaction written when a claim is lost.
 */
/**
 * Every time here is this long after the fixtures' epoch (in 2100): DynamoDB Local runs TTL on
 * `expiresAtEpoch`, and would delete, at a moment of its own, a key that expired by the real clock.
 */
const T = Date.parse('2100-01-01T00:00:00.000Z') - Date.parse(at(0));

let proxy: DynamoProxy;
let doc: DynamoDBDocumentClient;
const opened: Store[] = [];

beforeAll(async () => {
  proxy = await startDynamoProxy(dynamoEndpoint());
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', endpoint: dynamoEndpoint() }));
});
afterEach(() => {
  proxy.decide = () => 'pass';
});
afterAll(async () => {
  for (const store of opened) await store.close();
  doc.destroy();
  await proxy.close();
});

async function freshStore(): Promise<{ store: Store; prefix: string }> {
  const prefix = freshPrefix('claims');
  const url = `dynamodb://${prefix}?endpoint=${proxy.endpoint}`;
  await createTables({ url });
  const store = await openDynamoStore({ url, requestTimeoutMs: 2_000 });
  opened.push(store);
  return { store, prefix };
}

function keyClaim(nowMs: number, fingerprint = 'fp-a'): KeyClaim {
  const { merchantId: _m, key: _k, ...rest } = claim(nowMs, { fingerprint });
  return rest;
}

/** A payment's first unit, claiming `key` with its `payment.received`. */
function claimingUnit(stream: StreamBuilder, n: number, key: string, nowMs = T): CommitUnit {
  return stream.paymentUnit(payment(n, { status: 'processing' }), {
    idempotency: { merchantId: 'acme', key, paymentId: payment(n).id, claim: keyClaim(nowMs) },
  });
}

async function refusal(commit: Promise<void>): Promise<ClaimsTakenError> {
  const err = await commit.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ClaimsTakenError);
  return err as ClaimsTakenError;
}

describe('the condition of a key claimed in a commit', () => {
  const NOW_MS = T + 10 * LEASE_MS;
  const rows: (StoredClaim | undefined)[] = [undefined];
  for (const expired of [false, true]) {
    for (const fingerprint of ['fp-a', 'fp-b']) {
      for (const paymentId of [null, 'txn_held']) {
        for (const hasResponse of [false, true]) {
          for (const lease of ['live', 'lapsed', 'none'] as const) {
            rows.push({
              fingerprint, paymentId, hasResponse,
              leaseExpiresAt: { live: at(NOW_MS + 1), lapsed: at(NOW_MS - 1), none: '' }[lease],
              expiresAt: expired ? at(NOW_MS) : at(NOW_MS + TTL_MS),
            });
          }
        }
      }
    }
  }

  it('holds exactly where judgeClaim answers fresh or take_over, for every kind of stored key', async () => {
    const { store, prefix } = await freshStore();
    for (const [i, row] of rows.entries()) {
      const key = `key-${i}`;
      if (row) {
        await doc.send(new PutCommand({
          TableName: tableName(prefix, 'idempotency'),
          Item: {
            pk: JSON.stringify(['acme', key]), merchantId: 'acme', key, fingerprint: row.fingerprint,
            expiresAt: row.expiresAt, expiresAtEpoch: Math.ceil(Date.parse(row.expiresAt) / 1000), createdAt: at(T),
            ...(row.leaseExpiresAt !== '' && { leaseExpiresAt: row.leaseExpiresAt }),
            ...(row.paymentId !== null && { paymentId: row.paymentId }),
            ...(row.hasResponse && { response: JSON.stringify({ status: 201, body: {}, headers: {} }) }),
          },
        }));
      }
      const stream = await openStream(store, `str_${i}`);
      const wins = winsInCommit(judgeClaim(row, { fingerprint: 'fp-a', now: at(NOW_MS) }));
      const outcome = await store.journal.commit([claimingUnit(stream, i, key, NOW_MS)]).then(() => 'claimed', (e: unknown) => e);
      if (wins) expect(outcome, JSON.stringify(row)).toBe('claimed');
      else expect(outcome, JSON.stringify(row)).toBeInstanceOf(ClaimsTakenError);
      // Claimed, the key holds the new claim and its payment; refused, nothing of the commit is there.
      expect(await store.payments.get('acme', payment(i).id), JSON.stringify(row)).toEqual(wins ? expect.anything() : null);
      if (wins) expect(await store.idempotency.claim(claim(NOW_MS + 1, { key }))).toEqual({ kind: 'in_flight' });
    }
  });
});

describe('a batch over one transaction that claims keys', () => {
  const tables = Object.fromEntries((Object.keys(TABLES) as TableName[]).map((t) => [t, tableName('plan', t)])) as TableNames;

  /** 40 payments' first units, each claiming its own key: more than one transaction holds. */
  function bigBatch(stream: StreamBuilder): CommitUnit[] {
    return Array.from({ length: 40 }, (_, n) => claimingUnit(stream, n, `key-${n}`));
  }

  it('puts every claim in the first transaction, whichever transaction takes its unit', async () => {
    const { store } = await freshStore();
    const stream = await openStream(store, 'str_a');
    const units = bigBatch(stream);
    const plans = planCommit(units, tables, at(0));
    expect(plans.length).toBeGreaterThan(1);
    expect(plans[0]?.roles.filter((r) => r.kind === 'claim').map((r) => r.kind === 'claim' && r.unit)).toEqual(units.map((_, i) => i));
    for (const plan of plans.slice(1)) expect(plan.roles.some((r) => r.kind === 'claim')).toBe(false);
  });

  it('refuses the whole batch when a key claimed by a unit of a later transaction is held, writing nothing', async () => {
    const { store } = await freshStore();
    const stream = await openStream(store, 'str_a');
    await store.idempotency.claim(claim(T, { key: 'key-35', fingerprint: 'fp-b' }));
    const units = bigBatch(stream);
    const plans = planCommit(units, tables, at(0));
    expect(plans[0]?.units).toBeLessThan(35);

    const err = await refusal(store.journal.commit(units));
    expect(err.units).toEqual([35]);
    expect(await store.journal.head('str_a')).toBeNull();
    for (const n of [0, 34, 35, 39]) expect(await store.payments.get('acme', payment(n).id)).toBeNull();
    expect(await store.idempotency.claim(claim(T + 1, { key: 'key-0' }))).toEqual({ kind: 'claimed' });
    expect(await store.idempotency.claim(claim(T + 1, { key: 'key-39' }))).toEqual({ kind: 'claimed' });
  });

  it('when a later transaction fails, its units keys stay claimed with no payment, and are taken over once their lease runs out', async () => {
    const { store } = await freshStore();
    const stream = await openStream(store, 'str_a');
    const units = bigBatch(stream);
    let transactions = 0;
    proxy.decide = (request) => (request.action === 'TransactWriteItems' && ++transactions >= 2 ? 'error' : 'pass');
    await expect(store.journal.commit(units)).rejects.toBeInstanceOf(StoreUnavailableError);
    proxy.decide = () => 'pass';

    const durable = (await store.journal.readStream('str_a', 1, 100)).length;
    expect(durable).toBeGreaterThan(0);
    expect(durable).toBeLessThan(units.length);
    for (const [n] of units.entries()) {
      const key = `key-${n}`;
      expect(await store.payments.get('acme', payment(n).id)).toEqual(n < durable ? expect.anything() : null);
      expect(await store.idempotency.claim(claim(T + 1_000, { key })), `${n} of ${durable}`).toEqual({ kind: 'in_flight' });
      // Past the lease: a durable unit's key is recovered with its payment; a later one's is claimed afresh, once.
      const after = await store.idempotency.claim(claim(T + LEASE_MS + 1, { key }));
      expect(after, `${n} of ${durable}`).toEqual(n < durable ? { kind: 'recovered', paymentId: payment(n).id } : { kind: 'claimed' });
    }
  });
});

describe('claims one batch cannot make', () => {
  it('refuses, before writing anything, a unit claiming a key an earlier unit changes, and claims past the most one commit makes', async () => {
    const { store } = await freshStore();
    const stream = await openStream(store, 'str_a');
    await store.idempotency.claim(claim(T, { key: 'held' }));
    const units: CommitUnit[] = [
      stream.paymentUnit(payment(1, { status: 'processing' }), { idempotency: { merchantId: 'acme', key: 'held', paymentId: payment(1).id } }),
      claimingUnit(stream, 2, 'held'),
      ...Array.from({ length: 51 }, (_, n) => ({ records: [], idempotency: { merchantId: 'acme', key: `k${n}`, claim: keyClaim(T) } })),
    ];
    const err = await refusal(store.journal.commit(units));
    expect(err.units).toEqual([1, 52]);
    expect(await store.journal.head('str_a')).toBeNull();
  });
});
