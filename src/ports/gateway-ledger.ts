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

/** The simulated gateway's own table, so outcomes survive restarts. */
export interface GatewayLedger {
  get(gatewayKey: string): Promise<LedgerEntry | null>;
  put(entry: LedgerEntry): Promise<void>;
}
