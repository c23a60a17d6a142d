import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/ports/store.js';
import { claim, type StoreFactory, withStore } from './fixtures.js';

export function lifecycleContract(factory: StoreFactory): void {
  describe('Store lifecycle', () => {
    it('pings while open; after close every call fails as unavailable, and close is idempotent', withStore(factory, async (store) => {
      await store.ping();
      await store.close();
      await store.close();
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.journal.listStreams()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.journal.commit([])).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.payments.get('acme', 'txn_1')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.idempotency.claim(claim(0))).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.keys.list()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.gatewayLedger.get('gw_1')).rejects.toBeInstanceOf(StoreUnavailableError);
    }));
  });
}
