import type { Random } from '../../src/ports/clock.js';
import { applyCall } from '../../src/adapters/store/shared/ledger-call.js';
import type { GatewayLedger, LedgerCall, LedgerEntry, RecordedCall } from '../../src/ports/gateway-ledger.js';

/** mulberry32: a tiny seeded PRNG, so jitter and IDs are the same on every run. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, bytes: (length) => Uint8Array.from({ length }, () => Math.floor(next() * 256)) };
}

/** A Map-backed ledger that also counts settlements (outcome null → set), i.e. real charges. */
export class MapLedger implements GatewayLedger {
  readonly entries = new Map<string, LedgerEntry>();
  settlements = 0;
  async get(gatewayKey: string): Promise<LedgerEntry | null> {
    const entry = this.entries.get(gatewayKey);
    return entry ? { ...entry } : null;
  }
  async recordCall(call: LedgerCall): Promise<RecordedCall> {
    const previous = this.entries.get(call.gatewayKey) ?? null;
    const { entry, settled } = applyCall(previous, call);
    if (entry.outcome !== null && !previous?.outcome) this.settlements++;
    this.entries.set(entry.gatewayKey, { ...entry });
    return { entry: { ...entry }, settled };
  }
}
