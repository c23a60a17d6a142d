import { describe, expect, it } from 'vitest';
import type { LedgerCall, Settlement } from '../../src/ports/gateway-ledger.js';
import { at, type StoreFactory, withStore } from './fixtures.js';

const APPROVED: Settlement = { outcome: 'approved', code: null, declineCode: null, authorizationCode: 'auth_42' };
const DECLINED: Settlement = { outcome: 'declined', code: 'card_declined', declineCode: 'insufficient_funds', authorizationCode: null };

function call(gatewayKey: string, atMs: number, settle: Settlement | null, overrides: Partial<LedgerCall> = {}): LedgerCall {
  return { gatewayKey, amount: 1099, currency: 'USD', at: at(atMs), settle, settleFromCall: 1, ...overrides };
}

/** Calls racing on one key; enough to overlap on every store, few enough for DynamoDB Local. */
const RACING_CALLS = 12;

export function ledgerContract(factory: StoreFactory): void {
  describe('GatewayLedger', () => {
    it('creates and settles an entry on the first call, and reads it back', withStore(factory, async (store) => {
      expect(await store.gatewayLedger.get('gw_1')).toBeNull();
      const first = await store.gatewayLedger.recordCall(call('gw_1', 0, APPROVED));
      expect(first).toEqual({
        settled: true,
        entry: {
          gatewayKey: 'gw_1', calls: 1, outcome: 'approved', code: null, declineCode: null, authorizationCode: 'auth_42',
          amount: 1099, currency: 'USD', createdAt: at(0), updatedAt: at(0),
        },
      });
      expect(await store.gatewayLedger.get('gw_1')).toEqual(first.entry);
    }));

    it('counts every later call and keeps the first outcome, amount, currency and creation time', withStore(factory, async (store) => {
      await store.gatewayLedger.recordCall(call('gw_1', 0, DECLINED));
      const later = await store.gatewayLedger.recordCall(call('gw_1', 1_000, APPROVED, { amount: 5, currency: 'EUR' }));
      const counted = await store.gatewayLedger.recordCall(call('gw_1', 2_000, null));
      const declined = {
        gatewayKey: 'gw_1', outcome: 'declined', code: 'card_declined', declineCode: 'insufficient_funds', authorizationCode: null,
        amount: 1099, currency: 'USD', createdAt: at(0),
      };
      expect(later).toEqual({ settled: false, entry: { ...declined, calls: 2, updatedAt: at(1_000) } });
      expect(counted).toEqual({ settled: false, entry: { ...declined, calls: 3, updatedAt: at(2_000) } });
      expect(await store.gatewayLedger.get('gw_1')).toEqual(counted.entry);
    }));

    it('settles nothing without a settlement, and settles on a later call that brings one', withStore(factory, async (store) => {
      for (let i = 1; i <= 2; i++) {
        expect(await store.gatewayLedger.recordCall(call('gw_1', i, null))).toMatchObject({ settled: false, entry: { calls: i, outcome: null } });
      }
      expect(await store.gatewayLedger.recordCall(call('gw_1', 3, APPROVED))).toMatchObject({ settled: true, entry: { calls: 3, outcome: 'approved' } });
    }));

    it('with settleFromCall 2, counts the first call unsettled and settles on the second', withStore(factory, async (store) => {
      const first = await store.gatewayLedger.recordCall(call('gw_1', 0, APPROVED, { settleFromCall: 2 }));
      expect(first).toEqual({
        settled: false,
        entry: {
          gatewayKey: 'gw_1', calls: 1, outcome: null, code: null, declineCode: null, authorizationCode: null,
          amount: 1099, currency: 'USD', createdAt: at(0), updatedAt: at(0),
        },
      });
      const second = await store.gatewayLedger.recordCall(call('gw_1', 1, APPROVED, { settleFromCall: 2 }));
      expect(second).toMatchObject({ settled: true, entry: { calls: 2, outcome: 'approved', authorizationCode: 'auth_42', createdAt: at(0) } });
      const third = await store.gatewayLedger.recordCall(call('gw_1', 2, DECLINED, { settleFromCall: 2 }));
      expect(third).toMatchObject({ settled: false, entry: { calls: 3, outcome: 'approved' } });
    }));

    it('keeps keys apart', withStore(factory, async (store) => {
      await store.gatewayLedger.recordCall(call('gw_1', 0, DECLINED));
      await store.gatewayLedger.recordCall(call('gw_2', 0, APPROVED));
      expect(await store.gatewayLedger.get('gw_1')).toMatchObject({ calls: 1, outcome: 'declined' });
      expect(await store.gatewayLedger.get('gw_2')).toMatchObject({ calls: 1, outcome: 'approved' });
    }));

    it('settles exactly one outcome when calls race on one key, and counts them all', withStore(factory, async (store) => {
      const results = await Promise.all(Array.from({ length: RACING_CALLS }, (_, i) => (
        store.gatewayLedger.recordCall(call('race', i, i % 2 === 0 ? APPROVED : DECLINED))
      )));
      const winners = results.filter((r) => r.settled);
      expect(winners).toHaveLength(1);
      const outcome = winners[0]?.entry.outcome;
      // Every call, winner or not, sees the one settled outcome.
      expect(results.every((r) => r.entry.outcome === outcome)).toBe(true);
      expect(await store.gatewayLedger.get('race')).toMatchObject({ calls: RACING_CALLS, outcome });
    }));

    it('with settleFromCall 2, racing calls leave exactly one unsettled first call and one settlement', withStore(factory, async (store) => {
      const results = await Promise.all(Array.from({ length: RACING_CALLS }, (_, i) => (
        store.gatewayLedger.recordCall(call('race', i, APPROVED, { settleFromCall: 2 }))
      )));
      expect(results.filter((r) => r.settled)).toHaveLength(1);
      expect(results.filter((r) => r.entry.outcome === null)).toHaveLength(1);
      expect(await store.gatewayLedger.get('race')).toMatchObject({ calls: RACING_CALLS, outcome: 'approved' });
    }));
  });
}
