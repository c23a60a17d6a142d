import type Database from 'better-sqlite3';
import type { ApiKey, KeyStore } from '../../../ports/key-store.js';
import type { SqliteConnection } from './connection.js';
import { isConstraintError } from './errors.js';

type Statement = Database.Statement<unknown[], unknown>;

const COLUMNS = 'id, merchant_id AS merchantId, role, name, secret_hash AS secretHash, created_at AS createdAt, revoked_at AS revokedAt';

export class SqliteKeyStore implements KeyStore {
  // Prepared once at open: findByHash runs on every authenticated request.
  private readonly insertStmt: Statement;
  private readonly byHashStmt: Statement;
  private readonly byIdStmt: Statement;
  private readonly listStmt: Statement;
  private readonly revokeStmt: Statement;

  constructor(private readonly conn: SqliteConnection) {
    const db = conn.db;
    this.insertStmt = db.prepare(`
      INSERT INTO api_keys (id, merchant_id, role, name, secret_hash, created_at, revoked_at)
      VALUES (@id, @merchantId, @role, @name, @secretHash, @createdAt, @revokedAt)`);
    this.byHashStmt = db.prepare(`SELECT ${COLUMNS} FROM api_keys WHERE secret_hash = ?`);
    this.byIdStmt = db.prepare(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`);
    this.listStmt = db.prepare(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`);
    // coalesce keeps the first revocation time; RETURNING gives the row back without a second read.
    this.revokeStmt = db.prepare(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING ${COLUMNS}`);
  }

  create(key: ApiKey): Promise<void> {
    return this.conn.run(() => {
      try {
        this.insertStmt.run(key);
      } catch (err) {
        if (isConstraintError(err, 'SQLITE_CONSTRAINT_PRIMARYKEY') || isConstraintError(err, 'SQLITE_CONSTRAINT_UNIQUE')) {
          throw new Error('an API key with this id or secret hash already exists');
        }
        throw err;
      }
    });
  }

  findByHash(secretHash: string): Promise<ApiKey | null> {
    return this.conn.run(() => (this.byHashStmt.get(secretHash) as ApiKey | undefined) ?? null);
  }

  get(id: string): Promise<ApiKey | null> {
    return this.conn.run(() => (this.byIdStmt.get(id) as ApiKey | undefined) ?? null);
  }

  list(): Promise<ApiKey[]> {
    return this.conn.run(() => this.listStmt.all() as ApiKey[]);
  }

  revoke(id: string, at: string): Promise<ApiKey | null> {
    return this.conn.run(() => (this.revokeStmt.get(at, id) as ApiKey | undefined) ?? null);
  }
}
