import type Database from 'better-sqlite3';

/**
 * Migration N (1-based) brings the schema from user_version N-1 to N. Append only: a
 * released migration never changes, since files in the field have already run it.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE streams (
    id         TEXT PRIMARY KEY,
    journal    TEXT NOT NULL,
    started_at TEXT NOT NULL,
    writer     TEXT NOT NULL
  );
  CREATE INDEX streams_by_start ON streams (started_at, id);

  -- body is the record exactly as JSON.stringify wrote it, so exports reproduce it byte for byte;
  -- the other columns are copies kept only to index and check it.
  CREATE TABLE journal (
    stream   TEXT    NOT NULL REFERENCES streams (id),
    seq      INTEGER NOT NULL CHECK (seq >= 1),
    hash     TEXT    NOT NULL,
    resource TEXT,
    type     TEXT    NOT NULL,
    ts       TEXT    NOT NULL,
    body     TEXT    NOT NULL,
    PRIMARY KEY (stream, seq)
  ) WITHOUT ROWID;
  -- Most records are about a payment; the rest (journal.*, auth.failed) need no entry.
  CREATE INDEX journal_by_resource ON journal (resource, ts, stream, seq) WHERE resource IS NOT NULL;

  -- Guards against accidents, not attackers (who could drop them): the hash chain is the real evidence.
  CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
  BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
  CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
  BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;

  CREATE TABLE payments (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    body        TEXT NOT NULL
  );
  -- TypeIDs are time-ordered, so (merchant_id, id) descending is newest first.
  CREATE INDEX payments_by_merchant ON payments (merchant_id, id);
  -- A status filter over a merchant with many payments would otherwise scan the whole merchant.
  CREATE INDEX payments_by_merchant_status ON payments (merchant_id, status, id);
  CREATE INDEX payments_by_status ON payments (status, updated_at, id);

  CREATE TABLE idempotency (
    merchant_id      TEXT NOT NULL,
    key              TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    payment_id       TEXT,
    response         TEXT,
    lease_expires_at TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (merchant_id, key)
  );
  CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);

  CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    name        TEXT,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
  );

  CREATE TABLE gateway_ledger (
    gateway_key        TEXT PRIMARY KEY,
    calls              INTEGER NOT NULL,
    outcome            TEXT CHECK (outcome IN ('approved', 'declined')),
    code               TEXT,
    decline_code       TEXT,
    authorization_code TEXT,
    amount             INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
  );
  `,
  `
  -- Writers renew a lease; an open stream past its lease is presumed crashed and gets sealed.
  ALTER TABLE streams ADD COLUMN lease_expires_at TEXT NOT NULL DEFAULT '';
  ALTER TABLE streams ADD COLUMN state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'stopped', 'sealed'));
  ALTER TABLE streams ADD COLUMN closed_by TEXT;
  ALTER TABLE streams ADD COLUMN closed_at TEXT;

  CREATE TABLE checkpoints (
    stream     TEXT    NOT NULL REFERENCES streams (id),
    size       INTEGER NOT NULL CHECK (size >= 0),
    root       TEXT    NOT NULL,
    note       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (stream, size)
  ) WITHOUT ROWID;
  CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
  BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
  CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
  BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
  `,
  `
  -- The newest signed head of each stream, written with every commit of its records.
  ALTER TABLE streams ADD COLUMN head_size INTEGER;
  ALTER TABLE streams ADD COLUMN head_root TEXT;
  ALTER TABLE streams ADD COLUMN head_note TEXT;
  `,
  `
  -- The journal tree: the streams' signed checkpoints, in the order they were made, and its head.
  CREATE TABLE journal_tree (
    journal TEXT    NOT NULL,
    idx     INTEGER NOT NULL CHECK (idx >= 0),
    note    TEXT    NOT NULL,
    hash    TEXT    NOT NULL,
    PRIMARY KEY (journal, idx)
  ) WITHOUT ROWID;
  -- Where a stream checkpoint sits in the tree, for receipts.
  CREATE INDEX journal_tree_by_hash ON journal_tree (journal, hash);
  CREATE TRIGGER journal_tree_no_update BEFORE UPDATE ON journal_tree
  BEGIN SELECT RAISE(ABORT, 'the journal tree is append-only'); END;
  CREATE TRIGGER journal_tree_no_delete BEFORE DELETE ON journal_tree
  BEGIN SELECT RAISE(ABORT, 'the journal tree is append-only'); END;
  CREATE TABLE journal_tree_heads (
    journal      TEXT PRIMARY KEY,
    size         INTEGER NOT NULL,
    root         TEXT    NOT NULL,
    note         TEXT    NOT NULL,
    frontier     TEXT    NOT NULL,
    cosignatures TEXT    NOT NULL
  );
  `,
  `
  -- What a key may do: keys made before roles existed are merchant keys.
  ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'merchant' CHECK (role IN ('merchant', 'auditor'));
  `,
  `
  -- Lookups by the merchant's own reference, newest first, however old the payment: a copy of
  -- the body's merchantReference (NULL when it has none), taken from the bodies already stored.
  ALTER TABLE payments ADD COLUMN merchant_reference TEXT;
  UPDATE payments SET merchant_reference = json_extract(body, '$.merchantReference');
  CREATE INDEX payments_by_merchant_reference ON payments (merchant_id, merchant_reference, id);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the file up to SCHEMA_VERSION. Each step runs under BEGIN IMMEDIATE and re-reads
 * user_version inside it, so when two processes open a new file at once one migrates and
 * the other, once it gets the lock, finds nothing left to do.
 */
export function migrate(db: Database.Database): void {
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  if (version() > SCHEMA_VERSION) {
    throw new Error(`the SQLite file has schema version ${version()}, newer than this paylog's ${SCHEMA_VERSION}; upgrade paylog`);
  }
  for (let target = version() + 1; target <= SCHEMA_VERSION; target++) {
    db.transaction(() => {
      if (version() >= target) return;
      db.exec(MIGRATIONS[target - 1] as string);
      db.pragma(`user_version = ${target}`);
    }).immediate();
  }
}
