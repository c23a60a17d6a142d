import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ITEM_BYTES_MAX, type PlannedTransaction, TRANSACTION_BYTES_MAX, TRANSACTION_ITEMS_MAX, type TableNames, type TransactItem, planCommit,
} from '../../src/adapters/store/dynamodb/commit-plan.js';
import { TABLES, type TableName, tableName } from '../../src/adapters/store/dynamodb/tables.js';
import type { CommitUnit } from '../../src/ports/journal-store.js';
import { StoreUnavailableError, StreamConflictError } from '../../src/ports/store.js';
import { StreamBuilder, at, payment } from '../contract/fixtures.js';

const TABLE_NAMES = Object.fromEntries((Object.keys(TABLES) as TableName[]).map((t) => [t, tableName('plan', t)])) as TableNames;
const NOW = at(0);

/** The (table, key) every item of a transaction writes or checks. */
function keyOf(item: TransactItem): string {
  if ('Put' in item) {
    const { TableName, Item } = item.Put;
    const key = TableName === TABLE_NAMES.journal || TableName === TABLE_NAMES.checkpoints
      ? [Item.stream, Item.seq ?? Item.size] : [Item.id ?? Item.pk];
    return JSON.stringify([TableName, ...key]);
  }
  if ('Update' in item) return JSON.stringify([item.Update.TableName, item.Update.Key]);
  return JSON.stringify([item.ConditionCheck.TableName, item.ConditionCheck.Key]);
}

function headUpdates(plan: PlannedTransaction): { stream: unknown; from: unknown; to: unknown }[] {
  return plan.items.flatMap((item) => ('Update' in item && item.Update.TableName === TABLE_NAMES.streams
    ? [{ stream: item.Update.Key.id, from: item.Update.ExpressionAttributeValues[':expectedSeq'], to: item.Update.ExpressionAttributeValues[':seq'] }]
    : []));
}

/** A payment's units as the app commits them: received (with the idempotency claim's payment), then the outcome with the stored response. */
function paymentUnits(stream: StreamBuilder, n: number): CommitUnit[] {
  const p = payment(n, { status: 'processing' });
  const key = { merchantId: 'acme', key: `key-${n}` };
  return [
    { records: [stream.next({ resource: p.id })], payment: p, idempotency: { ...key, paymentId: p.id } },
    {
      records: [stream.next({ resource: p.id, type: 'payment.attempted' }), stream.next({ resource: p.id, type: 'payment.succeeded' })],
      payment: { ...p, status: 'succeeded' },
      idempotency: { ...key, response: { status: 201, body: { id: p.id }, headers: {} } },
    },
  ];
}

describe('planCommit', () => {
  it('puts a small batch in one transaction: records, head, payments and keys folded to one item each', () => {
    const stream = new StreamBuilder('str_a');
    stream.next(); // seq 1 is already stored
    const units = [...paymentUnits(stream, 1), ...paymentUnits(stream, 2)];
    const [plan, ...more] = planCommit(units, TABLE_NAMES, NOW);
    expect(more).toEqual([]);
    // 6 records, 1 head, 2 payments, 2 keys: each payment and key once, though two units change each.
    expect(plan?.items).toHaveLength(11);
    expect(plan?.units).toBe(4);
    expect(headUpdates(plan as PlannedTransaction)).toEqual([{ stream: 'str_a', from: 1, to: 7 }]);
    const payments = plan?.items.filter((i) => 'Put' in i && i.Put.TableName === TABLE_NAMES.payments);
    expect(payments?.map((i) => 'Put' in i && i.Put.Item.status)).toEqual(['succeeded', 'succeeded']);
    const keys = plan?.items.filter((i) => 'Update' in i && i.Update.TableName === TABLE_NAMES.idempotency);
    expect(keys?.map((i) => 'Update' in i && Object.keys(i.Update.ExpressionAttributeValues).sort())).toEqual([
      [':expired', ':expiredEpoch', ':paymentId', ':response'], [':expired', ':expiredEpoch', ':paymentId', ':response'],
    ]);
  });

  it('guards every head update by the stream being open at the seq and hash the batch continues', () => {
    const stream = new StreamBuilder('str_a');
    const first = stream.next();
    const [plan] = planCommit([{ records: [first, stream.next()] }], TABLE_NAMES, NOW);
    const update = plan?.items.find((i) => 'Update' in i);
    expect(update).toEqual({
      Update: expect.objectContaining({
        Key: { id: 'str_a' },
        ConditionExpression: '#state = :open AND #headSeq = :expectedSeq AND #headHash = :expectedHash',
        ExpressionAttributeValues: expect.objectContaining({ ':expectedSeq': 0, ':expectedHash': first.prev, ':open': 'open', ':seq': 2 }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    });
  });

  it('checks that the stream of a checkpoint exists when the transaction appends nothing to it', () => {
    const sealer = new StreamBuilder('str_sealer');
    sealer.next();
    const seal = { stream: 'str_dead', size: 3, root: 'ab'.repeat(32), note: 'n', createdAt: NOW };
    const [plan] = planCommit([{ records: [sealer.next({ type: 'journal.sealed' })], checkpoint: seal }], TABLE_NAMES, NOW);
    expect(plan?.roles.map((r) => r.kind).sort()).toEqual(['checkpoint', 'head', 'record', 'stream-exists']);
  });

  it('splits a batch over 100 items into consecutive transactions at unit boundaries, each a consistent prefix', () => {
    const stream = new StreamBuilder('str_a');
    const units = Array.from({ length: 40 }, (_, n) => paymentUnits(stream, n)).flat();
    const plans = planCommit(units, TABLE_NAMES, NOW);
    expect(plans.length).toBeGreaterThan(1);
    expect(plans.reduce((sum, p) => sum + p.units, 0)).toBe(units.length);
    let unit = 0;
    let head = 0;
    for (const plan of plans) {
      expect(plan.items.length).toBeLessThanOrEqual(TRANSACTION_ITEMS_MAX);
      const keys = plan.items.map(keyOf);
      expect(new Set(keys).size).toBe(keys.length);
      // This transaction's head moves from where the previous one left it to its own last record.
      const covered = units.slice(unit, unit + plan.units).flatMap((u) => u.records);
      expect(headUpdates(plan)).toEqual([{ stream: 'str_a', from: head, to: covered.at(-1)?.seq }]);
      head = covered.at(-1)?.seq as number;
      unit += plan.units;
    }
  });

  it('splits by size too, and refuses an item DynamoDB could never hold', () => {
    const stream = new StreamBuilder('str_a');
    const big = 'x'.repeat(300 * 1024);
    const units = Array.from({ length: 30 }, () => ({ records: [stream.next({ data: { big } })] }));
    const plans = planCommit(units, TABLE_NAMES, NOW);
    expect(plans.length).toBeGreaterThan(2);
    for (const plan of plans) expect(Buffer.byteLength(JSON.stringify(plan.items))).toBeLessThanOrEqual(TRANSACTION_BYTES_MAX + 64 * 1024);

    const huge = { records: [new StreamBuilder('str_b').next({ data: { big: 'x'.repeat(ITEM_BYTES_MAX) } })] };
    expect(() => planCommit([huge], TABLE_NAMES, NOW)).toThrow(StoreUnavailableError);
  });

  it('refuses a batch whose records do not chain, or with one checkpoint twice, before anything is written', () => {
    const stream = new StreamBuilder('str_a');
    const one = stream.next();
    stream.next(); // skipped
    const three = stream.next();
    expect(() => planCommit([{ records: [one] }, { records: [three] }], TABLE_NAMES, NOW)).toThrow(StreamConflictError);
    const cp = { stream: 'str_a', size: 1, root: 'ab'.repeat(32), note: 'n', createdAt: NOW };
    expect(() => planCommit([{ records: [], checkpoint: cp }, { records: [], checkpoint: cp }], TABLE_NAMES, NOW)).toThrow(/already has a checkpoint of size 1/);
  });

  it('for any batch: whole units in order, no transaction over the limits, no item twice in one', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ records: fc.integer({ min: 0, max: 6 }), pay: fc.integer({ min: 0, max: 12 }), key: fc.boolean() }), { minLength: 1, maxLength: 120 }),
      (shapes) => {
        const stream = new StreamBuilder('str_p');
        const units: CommitUnit[] = shapes.map((shape) => ({
          records: Array.from({ length: shape.records }, () => stream.next()),
          payment: payment(shape.pay),
          ...(shape.key ? { idempotency: { merchantId: 'acme', key: `k${shape.pay}`, paymentId: payment(shape.pay).id } } : {}),
        }));
        const plans = planCommit(units, TABLE_NAMES, NOW);
        expect(plans.reduce((sum, p) => sum + p.units, 0)).toBe(units.length);
        const seqs = plans.flatMap((p) => p.items.flatMap((i) => ('Put' in i && i.Put.TableName === TABLE_NAMES.journal ? [i.Put.Item.seq] : [])));
        expect(seqs).toEqual(units.flatMap((u) => u.records.map((r) => r.seq)));
        for (const plan of plans) {
          expect(plan.items.length).toBeLessThanOrEqual(TRANSACTION_ITEMS_MAX);
          const keys = plan.items.map(keyOf);
          expect(new Set(keys).size).toBe(keys.length);
        }
      },
    ), { numRuns: 200 });
  });
});
