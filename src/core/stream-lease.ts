/** Leases of journal streams: a writer renews its stream's lease while alive. */
export interface Leased {
  id: string;
  state: string;
  /** RFC 3339, as every time in the journal. */
  leaseExpiresAt: string;
}

/** An open stream whose writer stopped renewing its lease by `now`: presumed crashed, so another writer may seal it. */
export function isLapsed(stream: Pick<Leased, 'state' | 'leaseExpiresAt'>, now: string): boolean {
  return stream.state === 'open' && stream.leaseExpiresAt <= now;
}

/** The order lapsed streams are listed in: the longest lapsed first, then by ID. */
export function byLeaseExpiry(a: Pick<Leased, 'id' | 'leaseExpiresAt'>, b: Pick<Leased, 'id' | 'leaseExpiresAt'>): number {
  return compare(a.leaseExpiresAt, b.leaseExpiresAt) || compare(a.id, b.id);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
