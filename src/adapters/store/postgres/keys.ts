import type { ApiKey, KeyStore } from '../../../ports/key-store.js';
import { StreamConflictError } from '../../../ports/store.js';
import type { PostgresConnection } from './connection.js';

const COLUMNS = `id, merchant_id AS "merchantId", role, name, secret_hash AS "secretHash", created_at AS "createdAt", revoked_at AS "revokedAt"`;

export class PostgresKeyStore implements KeyStore {
  constructor(private readonly conn: PostgresConnection) {}

  async create(key: ApiKey): Promise<void> {
    await this.conn.query({
      name: 'key-insert',
      text: 'INSERT INTO api_keys (id, merchant_id, role, name, secret_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      values: [key.id, key.merchantId, key.role, key.name, key.secretHash, key.createdAt, key.revokedAt],
    }).catch((err: unknown) => {
      if (err instanceof StreamConflictError) throw new Error('an API key with this id or secret hash already exists');
      throw err;
    });
  }

  async findByHash(secretHash: string): Promise<ApiKey | null> {
    const { rows } = await this.conn.query<ApiKey>({ name: 'key-by-hash', text: `SELECT ${COLUMNS} FROM api_keys WHERE secret_hash = $1`, values: [secretHash] });
    return rows[0] ?? null;
  }

  async get(id: string): Promise<ApiKey | null> {
    const { rows } = await this.conn.query<ApiKey>({ name: 'key-by-id', text: `SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, values: [id] });
    return rows[0] ?? null;
  }

  async list(): Promise<ApiKey[]> {
    const { rows } = await this.conn.query<ApiKey>({ name: 'keys-list', text: `SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id` });
    return rows;
  }

  async revoke(id: string, at: string): Promise<ApiKey | null> {
    // coalesce keeps the first revocation time.
    const { rows } = await this.conn.query<ApiKey>({
      name: 'key-revoke', text: `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING ${COLUMNS}`, values: [id, at],
    });
    return rows[0] ?? null;
  }
}
