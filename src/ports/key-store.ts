import type { KeyRole } from '../core/key-role.js';

export interface ApiKey {
  id: string;
  /** The merchant a `merchant` key acts for; '' for an `auditor` key, which belongs to no merchant. */
  merchantId: string;
  /** What the key may do (see core/key-role.ts); keys stored before roles existed read as `merchant`. */
  role: KeyRole;
  name: string | null;
  /** Hex SHA-256 of the secret; the secret itself is never stored. */
  secretHash: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface KeyStore {
  create(key: ApiKey): Promise<void>;
  findByHash(secretHash: string): Promise<ApiKey | null>;
  get(id: string): Promise<ApiKey | null>;
  list(): Promise<ApiKey[]>;
  /** Marks a key revoked; returns it, or null if unknown. Revoking twice keeps the first time. */
  revoke(id: string, at: string): Promise<ApiKey | null>;
}
