import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/ports/gateway-ledger.js';
import { at, type StoreFactory, withStore } from './fixtures.js';

export function ledgerContract(factory: StoreFactory): void {
  describe('GatewayLedger', () => {
    it('puts, gets and overwrites entries by gateway key', withStore(factory, async (store) => {
      const pending: LedgerEntry = {
        gatewayKey: 'gw_1', calls: 1, outcome: null, code: null, declineCode: null, authorizationCode: null,
        amount: 1099, currency: 'USD', createdAt: at(0), updatedAt: at(0),
      };
      expect(await store.gatewayLedger.get('gw_1')).toBeNull();
      await store.gatewayLedger.put(pending);
      expect(await store.gatewayLedger.get('gw_1')).toEqual(pending);

      const declined: LedgerEntry = { ...pending, calls: 2, outcome: 'declined', code: 'card_declined', declineCode: 'insufficient_funds', updatedAt: at(1_000) };
      await store.gatewayLedger.put(declined);
      expect(await store.gatewayLedger.get('gw_1')).toEqual(declined);

      const approved: LedgerEntry = { ...pending, gatewayKey: 'gw_2', outcome: 'approved', authorizationCode: 'auth_42' };
      await store.gatewayLedger.put(approved);
      expect(await store.gatewayLedger.get('gw_2')).toEqual(approved);
      expect(await store.gatewayLedger.get('gw_1')).toEqual(declined);
    }));
  });
}
