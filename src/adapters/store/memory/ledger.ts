import type { GatewayLedger, LedgerEntry } from '../../../ports/gateway-ledger.js';
import { type MemoryState, copy } from './state.js';

export class MemoryGatewayLedger implements GatewayLedger {
  constructor(private readonly state: MemoryState) {}

  async get(gatewayKey: string): Promise<LedgerEntry | null> {
    this.state.assertOpen();
    const entry = this.state.ledger.get(gatewayKey);
    return entry ? copy(entry) : null;
  }

  async put(entry: LedgerEntry): Promise<void> {
    this.state.assertOpen();
    this.state.ledger.set(entry.gatewayKey, copy(entry));
  }
}
