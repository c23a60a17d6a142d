import type { StoreFactory } from './fixtures.js';
import { claimFenceContract } from './claim-fence.contract.js';
import { claimInCommitContract } from './claim-in-commit.contract.js';
import { idempotencyContract } from './idempotency.contract.js';
import { journalContract } from './journal.contract.js';
import { journalTreeContract } from './journal-tree.contract.js';
import { keysContract } from './keys.contract.js';
import { ledgerContract } from './ledger.contract.js';
import { lifecycleContract } from './lifecycle.contract.js';
import { paymentsContract } from './payments.contract.js';
import { streamsContract } from './streams.contract.js';

export type { StoreFactory } from './fixtures.js';

/** Every port's contract; each backend's test file calls this with its own factory. */
export function storeContracts(factory: StoreFactory): void {
  journalContract(factory);
  streamsContract(factory);
  journalTreeContract(factory);
  paymentsContract(factory);
  idempotencyContract(factory);
  claimFenceContract(factory);
  claimInCommitContract(factory);
  keysContract(factory);
  ledgerContract(factory);
  lifecycleContract(factory);
}
