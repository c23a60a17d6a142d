import type { GatewayLedger, LedgerCall, LedgerEntry, RecordedCall } from '../../../ports/gateway-ledger.js';
import { applyCall } from '../shared/ledger-call.js';
import { type MemoryState, copy } from './state.js';

export class MemoryGatewayLedger implements GatewayLedger {
  constructor(private readonly state: MemoryState) {}

  async get(gatewayKey: string): Promise<LedgerEntry | null> {
    this.state.assertOpen();
    const entry = this.state.ledger.get(gatewayKey);
    return entry ? copy(entry) : null;
  }

  /** Read and written without an await in between: atomic. */
  async recordCall(call: LedgerCall): Promise<RecordedCall> {
    this.state.assertOpen();
    const recorded = applyCall(this.state.ledger.get(call.gatewayKey) ?? null, call);
    this.state.ledger.set(call.gatewayKey, copy(recorded.entry));
    // applyCall builds a new entry, and the store keeps a copy of it: the caller may have this one.
    return recorded;
  }
}
