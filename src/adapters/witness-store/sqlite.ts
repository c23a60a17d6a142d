import type Database from 'better-sqlite3';
import type { Evidence, WitnessStore, WitnessUpdate, WitnessedCheckpoint } from '../../app/witness/witness-store.js';
import { sha256 } from '../../core/sha256.js';
import { StoreUnavailableError } from '../../ports/store.js';
import { openDatabase } from '../store/sqlite/connection.js';
import { translateError } from '../store/sqlite/errors.js';

/** Evidence rows kept per log: only a log's own key can make them, but a limit on everything. */
export const EVIDENCE_PER_ORIGIN_MAX = 1000;
const SCHEMA_VERSION = 1;

/**
 * One row per log (its latest cosigned checkpoint) and the evidence table. A trigger refuses
 * any update that would lower a log's size and any delete: the witnessed size only grows, even
 * against a bug above.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS witnessed (
  origin TEXT PRIMARY KEY,
  origin_hash BLOB NOT NULL UNIQUE CHECK (length(origin_hash) = 32),
  size INTEGER NOT NULL CHECK (size >= 0),
  root BLOB NOT NULL CHECK (length(root) = 32),
  note TEXT NOT NULL,
  cosignature TEXT NOT NULL,
  cosigned_at INTEGER NOT NULL
) STRICT;
CREATE TRIGGER IF NOT EXISTS witnessed_never_shrinks BEFORE UPDATE ON witnessed
  WHEN NEW.size < OLD.size OR NEW.origin <> OLD.origin
  BEGIN SELECT RAISE(ABORT, 'a witnessed size never goes back'); END;
CREATE TRIGGER IF NOT EXISTS witnessed_never_deleted BEFORE DELETE ON witnessed
  BEGIN SELECT RAISE(ABORT, 'a witnessed checkpoint is never deleted'); END;
CREATE TABLE IF NOT EXISTS evidence (
  id INTEGER PRIMARY KEY,
  origin TEXT NOT NULL,
  kind TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  request TEXT NOT NULL,
  request_hash BLOB NOT NULL,
  held TEXT,
  UNIQUE (origin, request_hash)
) STRICT;
`;

interface WitnessedRow {
  origin: string;
  size: number;
  root: Buffer;
  note: string;
  cosignature: string;
  cosigned_at: number;
}

interface EvidenceRow {
  origin: string;
  kind: Evidence['kind'];
  received_at_ms: number;
  request: string;
  held: string | null;
}

const fromRow = (row: WitnessedRow): WitnessedCheckpoint => ({
  origin: row.origin, size: row.size, root: row.root, note: row.note, cosignature: row.cosignature, cosignedAt: row.cosigned_at,
});

/**
 * Opens (creating if needed) the witness's SQLite file: WAL, synchronous=FULL, like paylog's
 * store. `busyTimeoutMs` bounds how long an update waits for another connection's.
 */
export function openSqliteWitnessStore(path: string, busyTimeoutMs?: number): WitnessStore {
  const db = openDatabase(path, busyTimeoutMs);
  try {
    migrate(db);
  } catch (err) {
    db.close();
    throw translateError(err);
  }
  const select = db.prepare<[string], WitnessedRow>('SELECT origin, size, root, note, cosignature, cosigned_at FROM witnessed WHERE origin = ?');
  const selectByHash = db.prepare<[Buffer], WitnessedRow>('SELECT origin, size, root, note, cosignature, cosigned_at FROM witnessed WHERE origin_hash = ?');
  const upsert = db.prepare(`INSERT INTO witnessed (origin, origin_hash, size, root, note, cosignature, cosigned_at)
    VALUES (@origin, @originHash, @size, @root, @note, @cosignature, @cosignedAt)
    ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note,
      cosignature = excluded.cosignature, cosigned_at = excluded.cosigned_at`);
  const countEvidence = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM evidence WHERE origin = ?');
  const insertEvidence = db.prepare(`INSERT OR IGNORE INTO evidence (origin, kind, received_at_ms, request, request_hash, held)
    VALUES (@origin, @kind, @receivedAtMs, @request, @requestHash, @held)`);
  const listEvidence = db.prepare<[number], EvidenceRow>('SELECT origin, kind, received_at_ms, request, held FROM evidence ORDER BY id LIMIT ?');
  let closed = false;

  const guarded = <T>(work: () => T): T => {
    if (closed) throw new StoreUnavailableError('the witness store is closed');
    try {
      return work();
    } catch (err) {
      throw translateError(err);
    }
  };

  return {
    update<T>(origin: string, decide: (held: WitnessedCheckpoint | null) => WitnessUpdate<T>): T {
      // IMMEDIATE takes the write lock before the read: another connection (another witness
      // process on the same file) cannot change the row between the check and the write.
      const step = db.transaction((): T => {
        const row = select.get(origin);
        const { save, evidence, result } = decide(row === undefined ? null : fromRow(row));
        if (save !== undefined) {
          if (save.origin !== origin) throw new Error('a witness update may only write its own origin');
          upsert.run({ ...save, originHash: sha256(Buffer.from(origin, 'utf8')) });
        }
        if (evidence !== undefined && (countEvidence.get(origin)?.n ?? 0) < EVIDENCE_PER_ORIGIN_MAX) {
          insertEvidence.run({ ...evidence, requestHash: sha256(Buffer.from(evidence.request, 'utf8')) });
        }
        return result;
      });
      return guarded(() => step.immediate());
    },
    latestByOriginHash(originHash: Buffer): WitnessedCheckpoint | null {
      return guarded(() => {
        const row = selectByHash.get(originHash);
        return row === undefined ? null : fromRow(row);
      });
    },
    evidence(limit: number): Evidence[] {
      return guarded(() => listEvidence.all(limit).map((r) => ({
        origin: r.origin, kind: r.kind, receivedAtMs: r.received_at_ms, request: r.request, held: r.held,
      })));
    },
    close(): void {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

function migrate(db: Database.Database): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version > SCHEMA_VERSION) throw new StoreUnavailableError(`the witness database has schema version ${version}; this paylog knows up to ${SCHEMA_VERSION}`);
  db.exec(SCHEMA);
  if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
}
