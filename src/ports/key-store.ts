export interface ApiKey {
  id: string;
  merchantId: string;
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
