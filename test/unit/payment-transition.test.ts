import { describe, expect, it } from 'vitest';
import { MUTABLE_PAYMENT_STATUSES, type PaymentStatus, canTransition } from '../../src/core/payment.js';
import { sqlStatusList } from '../../src/adapters/store/shared/payment-transition.js';

const ALL: PaymentStatus[] = ['processing', 'succeeded', 'declined', 'failed'];

describe('payment status transitions', () => {
  it('move forward only: from processing (or no row) to anything, never out of a terminal status', () => {
    for (const to of ALL) {
      expect(canTransition(null, to)).toBe(true);
      expect(canTransition('processing', to)).toBe(true);
      for (const from of ['succeeded', 'declined', 'failed'] as const) expect(canTransition(from, to)).toBe(false);
    }
  });

  it('gives SQL stores the same rule: the statuses a row may leave', () => {
    expect(MUTABLE_PAYMENT_STATUSES).toEqual(ALL.filter((from) => ALL.some((to) => canTransition(from, to))));
    expect(sqlStatusList()).toBe("'processing'");
  });
});
