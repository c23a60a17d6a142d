import { describe, expect, it } from 'vitest';
import { type Store, StoreUnavailableError } from '../../src/ports/store.js';
import { StreamBuilder, at, claim, openStream, payment, streamInfo } from '../contract/fixtures.js';
import type { Payment } from '../../src/core/payment.js';
import type { CommitUnit } from '../../src/ports/journal-store.js';
import type { Fault } from '../support/dynamodb-proxy.js';
import { proxiedStores } from '../support/proxied-dynamo-store.js';

/**
 * The SDK retries what failed on the way (a 500, throttling, a conflict with another
 * transaction, a cut connection). These tests make sure each retry is safe: a write whose
 * first attempt landed is recognised as ours, a transaction is applied once, and what the
 * retries cannot fix is reported as an outage with nothing written.
 */
// A short answer timeout: attempts at an endpoint that never answers end after it.
const { proxy, freshStore } = proxiedStores('retries', 500);

/** Fails the next `times` requests of `action` with `fault`, passes everything else; returns how many it failed. */
function failNext(action: string, fault: Fault, times = 1): () => number {
  let failed = 0;
  proxy().decide = (request) => {
    if (request.action !== action || failed >= times) return 'pass';
    failed += 1;
    return fault;
  };
  return () => failed;
}

function attempts(action: string, since: number): number {
  return proxy().log.filter((entry) => entry.n > since && entry.action === action).length;
}

describe.each(['error', 'throttle', 'conflict', 'drop-before', 'drop-after'] as const)('a journal commit whose first attempt meets %s', (fault) => {
  it('is retried by the SDK and applied exactly once', async () => {
    const store = await freshStore();
    const stream = await openStream(store, 'str_a');
    const p = payment(1);
    await store.idempotency.claim(claim(0));
    const since = proxy().log.length;
    const failed = failNext('TransactWriteItems', fault);
    const records = stream.many(3, { resource: p.id });
    await store.journal.commit([{ records, payment: p, idempotency: { merchantId: 'acme', key: 'key-1', paymentId: p.id } }]);
    expect(failed()).toBe(1);
    expect(attempts('TransactWriteItems', since)).toBe(2);
    expect(await store.journal.readStream('str_a', 1, 10)).toEqual(records);
    expect(await store.payments.get('acme', p.id)).toEqual(p);
  });
});

describe('retries of single-item writes whose first attempt landed', () => {
  it('an idempotency claim recognises its own item: claimed, not in flight', async () => {
    const store = await freshStore();
    failNext('PutItem', 'drop-after');
    expect(await store.idempotency.claim(claim(0))).toEqual({ kind: 'claimed' });
    // A second claimant still loses.
    expect(await store.idempotency.claim(claim(10))).toEqual({ kind: 'in_flight' });
  });

  it('taking over a crashed claim recognises its own takeover', async () => {
    const store = await freshStore();
    await store.idempotency.claim(claim(0));
    const later = 40_000; // past the first claim's lease
    failNext('UpdateItem', 'drop-after');
    expect(await store.idempotency.claim(claim(later))).toEqual({ kind: 'claimed' });
    expect(await store.idempotency.claim(claim(later + 10))).toEqual({ kind: 'in_flight' });
  });

  it('creating a stream recognises its own stream, and a different one is still refused', async () => {
    const store = await freshStore();
    failNext('PutItem', 'drop-after');
    await store.journal.createStream(streamInfo('str_a'));
    await expect(store.journal.createStream({ ...streamInfo('str_a'), writer: 'other:2' })).rejects.toThrow(/already exists/);
  });

  it('closing a stream recognises its own close, and a second closer still loses', async () => {
    const store = await freshStore();
    await openStream(store, 'str_a');
    failNext('UpdateItem', 'drop-after');
    expect(await store.journal.closeStream('str_a', 'sealed', 'str_b', at(5))).toBe(true);
    expect(await store.journal.closeStream('str_a', 'sealed', 'str_c', at(6))).toBe(false);
  });
});

describe('failures that outlast the retries', () => {
  it.each(['error', 'throttle', 'conflict', 'drop-before'] as const)('%s on every attempt: the commit fails as an outage and writes nothing', async (fault) => {
    const store = await freshStore();
    const stream = await openStream(store, 'str_a');
    const since = proxy().log.length;
    failNext('TransactWriteItems', fault, Number.POSITIVE_INFINITY);
    const err = await store.journal.commit([{ records: stream.many(2) }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/^DynamoDB store failed \(\w+\)$/);
    expect(attempts('TransactWriteItems', since)).toBe(3); // the SDK's default: three attempts
    proxy().decide = () => 'pass';
    expect(await store.journal.head('str_a')).toBeNull();
  });

  it('an endpoint that never answers: each attempt times out, and the call fails as an outage instead of waiting forever', async () => {
    const store = await freshStore();
    const stream = await openStream(store, 'str_a');
    const since = proxy().log.length;
    failNext('TransactWriteItems', 'hang', Number.POSITIVE_INFINITY);
    const err = await store.journal.commit([{ records: stream.many(1) }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toBe('DynamoDB store failed (ETIMEDOUT)');
    expect(attempts('TransactWriteItems', since)).toBe(3);
  });

  it('a cut connection after every attempt landed: the first attempt applied, the retries found it done', async () => {
    const store = await freshStore();
    const stream = new StreamBuilder('str_a');
    await store.journal.createStream(streamInfo('str_a'));
    failNext('TransactWriteItems', 'drop-after', Number.POSITIVE_INFINITY);
    const records = stream.many(2);
    // The store cannot tell whether it committed: it says it failed; the writer then reads the head.
    await expect(store.journal.commit([{ records }])).rejects.toBeInstanceOf(StoreUnavailableError);
    proxy().decide = () => 'pass';
    expect(await store.journal.readStream('str_a', 1, 10)).toEqual(records);
  });
});

describe('a batch over one transaction', () => {
  /** 40 units of a payment record with its payment and key: 160 items, more than one transaction holds. */
  async function bigBatch(store: Store, stream: StreamBuilder): Promise<CommitUnit[]> {
    const units: CommitUnit[] = [];
    for (let n = 0; n < 40; n++) {
      const p = payment(n);
      await store.idempotency.claim(claim(0, { key: `key-${n}` }));
      units.push({ records: [stream.next({ resource: p.id })], payment: p, idempotency: { merchantId: 'acme', key: `key-${n}`, paymentId: p.id } });
    }
    return units;
  }

  it('commits as consecutive transactions, all of it', async () => {
    const store = await freshStore();
    const stream = await openStream(store, 'str_a');
    const units = await bigBatch(store, stream);
    const since = proxy().log.length;
    await store.journal.commit(units);
    expect(attempts('TransactWriteItems', since)).toBeGreaterThan(1);
    expect(await store.journal.readStream('str_a', 1, 100)).toEqual(units.flatMap((u) => u.records));
    for (const unit of units) expect(await store.payments.get('acme', unit.payment?.id as string)).toEqual(unit.payment);
  });

  it('when a later transaction fails, the earlier ones stay whole: the head and every unit up to it, nothing after', async () => {
    const store = await freshStore();
    const stream = await openStream(store, 'str_a');
    const units = await bigBatch(store, stream);
    let transactions = 0;
    proxy().decide = (request) => (request.action === 'TransactWriteItems' && ++transactions >= 2 ? 'error' : 'pass');
    await expect(store.journal.commit(units)).rejects.toBeInstanceOf(StoreUnavailableError);
    proxy().decide = () => 'pass';

    const stored = await store.journal.readStream('str_a', 1, 100);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.length).toBeLessThan(units.length);
    expect(await store.journal.head('str_a')).toEqual({ seq: stored.length, hash: stored.at(-1)?.hash });
    // Every unit of the first transaction is complete, read model included; no later unit left a trace.
    for (const [i, unit] of units.entries()) {
      const p = unit.payment as Payment;
      expect(await store.payments.get('acme', p.id)).toEqual(i < stored.length ? p : null);
    }
    // The stream continues right after the prefix.
    const rest = new StreamBuilder('str_a');
    for (let n = 0; n < stored.length; n++) rest.next({ resource: payment(n).id }); // the same records again, to chain after
    await store.journal.commit([{ records: [rest.next()] }]);
    expect(await store.journal.head('str_a')).toMatchObject({ seq: stored.length + 1 });
  });
});

