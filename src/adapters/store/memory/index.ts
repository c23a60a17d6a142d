import type { Store } from '../../../ports/store.js';
import { MemoryIdempotencyStore } from './idempotency.js';
import { MemoryJournalStore } from './journal.js';
import { MemoryJournalTreeStore } from './journal-tree.js';
import { MemoryKeyStore } from './keys.js';
import { MemoryGatewayLedger } from './ledger.js';
import { MemoryPaymentStore } from './payments.js';
import { MemoryState } from './state.js';

/** A Store in plain Maps, for tests: same semantics as the durable stores, nothing survives the process. */
export function createMemoryStore(): Store {
  const state = new MemoryState();
  return {
    kind: 'memory',
    journal: new MemoryJournalStore(state),
    journalTree: new MemoryJournalTreeStore(state),
    payments: new MemoryPaymentStore(state),
    idempotency: new MemoryIdempotencyStore(state),
    keys: new MemoryKeyStore(state),
    gatewayLedger: new MemoryGatewayLedger(state),
    async ping() {
      state.assertOpen();
    },
    async close() {
      state.closed = true;
    },
  };
}
