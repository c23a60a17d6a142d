/** One charge as the simulated gateway remembers it, keyed by the gateway key. */
export interface LedgerEntry {
  gatewayKey: string;
  /** How many charge calls arrived under this key. */
  calls: number;
  /** Null until the gateway settled the charge. */
  outcome: 'approved' | 'declined' | null;
  code: string | null;
  declineCode: string | null;
  authorizationCode: string | null;
  amount: number;
  currency: string;
  createdAt: string;
  updatedAt: string;
}

/** The outcome a call settles: set once per gateway key, never changed after. */
export interface Settlement {
  outcome: 'approved' | 'declined';
  code: string | null;
  declineCode: string | null;
  authorizationCode: string | null;
}

/** One charge call, as the ledger records it. */
export interface LedgerCall {
  gatewayKey: string;
  /** Kept from the first call under the key. */
  amount: number;
  currency: string;
  /** When the call arrived: the entry's updatedAt, and its createdAt if new. */
  at: string;
  /** What this call settles if the entry has no outcome yet; null settles nothing. */
  settle: Settlement | null;
  /** The first call number that may settle: 2 when a first call is refused (the fail-once cards). */
  settleFromCall: 1 | 2;
}

export interface RecordedCall {
  /** The entry once this call is counted. */
  entry: LedgerEntry;
  /** Whether this call settled the outcome (charged), rather than finding one or settling none. */
  settled: boolean;
}

/** The simulated gateway's own table, so outcomes survive restarts. */
export interface GatewayLedger {
  get(gatewayKey: string): Promise<LedgerEntry | null>;
  /**
   * One atomic step, also between processes: counts the call (creating the entry on the first
   * call under its key) and settles `call.settle` if the entry has no outcome yet and this is
   * call number `settleFromCall` or later. Concurrent calls under one key settle one outcome.
   */
  recordCall(call: LedgerCall): Promise<RecordedCall>;
}
