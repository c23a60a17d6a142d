import { describe, expect, it } from 'vitest';
import { explainCancellation, refusedPaymentRows } from '../../src/adapters/store/dynamodb/cancellation.js';
import type { ItemRole } from '../../src/adapters/store/dynamodb/commit-plan.js';
import { ClaimsTakenError } from '../../src/ports/store.js';

function cancelled(codes: string[]): Error {
  return Object.assign(new Error('Transaction cancelled'), { name: 'TransactionCanceledException', CancellationReasons: codes.map((Code) => ({ Code })) });
}

const ROLES: ItemRole[] = [
  { kind: 'head', stream: 'str_1', first: { stream: 'str_1', seq: 1, prev: '0'.repeat(64) } },
  { kind: 'record', stream: 'str_1', seq: 1 },
  { kind: 'payment', id: 'txn_a' },
  { kind: 'payment', id: 'txn_b' },
];

describe('refusedPaymentRows', () => {
  it('names the payment rows whose forward-only condition alone cancelled the transaction', () => {
    expect(refusedPaymentRows(cancelled(['None', 'None', 'ConditionalCheckFailed', 'None']), ROLES)).toEqual(new Set([2]));
    expect(refusedPaymentRows(cancelled(['None', 'None', 'ConditionalCheckFailed', 'ConditionalCheckFailed']), ROLES)).toEqual(new Set([2, 3]));
  });

  it('is null for anything else: a stream conflict, another reason, another error, no reason', () => {
    expect(refusedPaymentRows(cancelled(['ConditionalCheckFailed', 'None', 'ConditionalCheckFailed', 'None']), ROLES)).toBeNull();
    expect(refusedPaymentRows(cancelled(['None', 'None', 'TransactionConflict', 'None']), ROLES)).toBeNull();
    expect(refusedPaymentRows(cancelled(['None', 'None', 'None', 'None']), ROLES)).toBeNull();
    expect(refusedPaymentRows(new Error('socket hang up'), ROLES)).toBeNull();
  });
});

describe('explainCancellation', () => {
  it('names every unit whose claim failed its condition, whatever else failed with it', () => {
    const roles: ItemRole[] = [...ROLES, { kind: 'claim', key: 'k-5', unit: 5 }, { kind: 'claim', key: 'k-2', unit: 2 }, { kind: 'claim', key: 'k-3', unit: 3 }];
    const err = explainCancellation(cancelled(['None', 'None', 'ConditionalCheckFailed', 'None', 'ConditionalCheckFailed', 'None', 'ConditionalCheckFailed']), roles);
    expect(err).toBeInstanceOf(ClaimsTakenError);
    expect((err as ClaimsTakenError).units).toEqual([3, 5]);
  });
});
