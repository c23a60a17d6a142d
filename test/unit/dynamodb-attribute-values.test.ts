import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { toAttributeMap } from '../../src/adapters/store/dynamodb/attribute-values.js';
import { journalItem } from '../../src/adapters/store/dynamodb/journal-items.js';
import { paymentItem } from '../../src/adapters/store/dynamodb/payments.js';
import { StreamBuilder, payment } from '../contract/fixtures.js';

/** What the document client sends for an item (its marshalling, with the store's options). */
const asDocumentClient = (item: Record<string, unknown>): unknown => marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: false });

describe('toAttributeMap', () => {
  it('marshals what the store writes exactly as the document client does', () => {
    const items: Record<string, unknown>[] = [
      journalItem(new StreamBuilder('str_a').next({ resource: payment(1).id, data: { note: 'café ☕' } })),
      paymentItem(payment(1, { merchantReference: 'order_1' })),
      { ':at': '2026-01-01T00:00:00.000Z', ':one': 1, ':amount': 1099.5, ':declineCode': null, ':flag': true, ':gone': undefined },
      { nested: { list: [1, 'two', null, { deep: false }], empty: {} }, negative: -3, zero: 0 },
    ];
    for (const item of items) expect(toAttributeMap(item)).toEqual(asDocumentClient(item));
  });

  it('refuses what DynamoDB cannot hold or the store never writes', () => {
    expect(() => toAttributeMap({ n: Number.NaN })).toThrow(TypeError);
    expect(() => toAttributeMap({ d: new Date(0) })).toThrow(TypeError);
    expect(() => toAttributeMap({ f: () => 1 })).toThrow(TypeError);
  });
});
