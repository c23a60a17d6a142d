import type pg from 'pg';

/** Any constant shared by every paylog instance: migrations run one instance at a time. */
const MIGRATION_LOCK = 7_412_013_071;

/**
 * Migration N brings the schema from version N-1 to N. Append only: a released migration
 * never changes, since databases in the field have already run it.
 */
const MIGRATIONS: readonly string[] = [
  // Text compares bytewise (COLLATE "C"), whatever the database's locale: IDs, cursors and ISO
  // times then order exactly as in SQLite and DynamoDB, and index comparisons skip the locale.
  `
  CREATE TABLE streams (
    id               text COLLATE "C" PRIMARY KEY,
    journal          text COLLATE "C" NOT NULL,
    started_at       text COLLATE "C" NOT NULL,
    writer           text COLLATE "C" NOT NULL,
    lease_expires_at text COLLATE "C" NOT NULL,
    state            text COLLATE "C" NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'stopped', 'sealed')),
    closed_by        text COLLATE "C",
    closed_at        text COLLATE "C"
  );
  CREATE INDEX streams_by_start ON streams (started_at, id);

  -- body is the record exactly as JSON.stringify wrote it, so exports reproduce it byte for byte.
  CREATE TABLE journal (
    stream   text COLLATE "C" NOT NULL REFERENCES streams (id),
    seq      bigint NOT NULL CHECK (seq >= 1),
    hash     text COLLATE "C" NOT NULL,
    resource text COLLATE "C",
    type     text COLLATE "C" NOT NULL,
    ts       text COLLATE "C" NOT NULL,
    body     text COLLATE "C" NOT NULL,
    PRIMARY KEY (stream, seq)
  );
  CREATE INDEX journal_by_resource ON journal (resource, ts, stream, seq) WHERE resource IS NOT NULL;

  CREATE TABLE checkpoints (
    stream     text COLLATE "C" NOT NULL REFERENCES streams (id),
    size       bigint NOT NULL CHECK (size >= 0),
    root       text COLLATE "C" NOT NULL,
    note       text COLLATE "C" NOT NULL,
    created_at text COLLATE "C" NOT NULL,
    PRIMARY KEY (stream, size)
  );

  -- Guards against accidents and the application role, not attackers with DDL rights: the
  -- hash chain and signed checkpoints are the real evidence.
  CREATE FUNCTION paylog_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
  END $$;
  CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal FOR EACH ROW EXECUTE FUNCTION paylog_append_only();
  CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints FOR EACH ROW EXECUTE FUNCTION paylog_append_only();
  -- Row triggers do not see TRUNCATE; statement triggers do.
  CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal FOR EACH STATEMENT EXECUTE FUNCTION paylog_append_only();
  CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints FOR EACH STATEMENT EXECUTE FUNCTION paylog_append_only();

  CREATE TABLE payments (
    id          text COLLATE "C" PRIMARY KEY,
    merchant_id text COLLATE "C" NOT NULL,
    status      text COLLATE "C" NOT NULL,
    updated_at  text COLLATE "C" NOT NULL,
    body        text COLLATE "C" NOT NULL
  );
  CREATE INDEX payments_by_merchant ON payments (merchant_id, id);
  CREATE INDEX payments_by_merchant_status ON payments (merchant_id, status, id);
  CREATE INDEX payments_by_status ON payments (status, updated_at, id);

  CREATE TABLE idempotency (
    merchant_id      text COLLATE "C" NOT NULL,
    key              text COLLATE "C" NOT NULL,
    fingerprint      text COLLATE "C" NOT NULL,
    payment_id       text COLLATE "C",
    response         text COLLATE "C",
    lease_expires_at text COLLATE "C" NOT NULL,
    expires_at       text COLLATE "C" NOT NULL,
    created_at       text COLLATE "C" NOT NULL,
    PRIMARY KEY (merchant_id, key)
  );
  CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);

  CREATE TABLE api_keys (
    id          text COLLATE "C" PRIMARY KEY,
    merchant_id text COLLATE "C" NOT NULL,
    name        text COLLATE "C",
    secret_hash text COLLATE "C" NOT NULL UNIQUE,
    created_at  text COLLATE "C" NOT NULL,
    revoked_at  text COLLATE "C"
  );

  CREATE TABLE gateway_ledger (
    gateway_key        text COLLATE "C" PRIMARY KEY,
    calls              integer NOT NULL,
    outcome            text COLLATE "C" CHECK (outcome IN ('approved', 'declined')),
    code               text COLLATE "C",
    decline_code       text COLLATE "C",
    authorization_code text COLLATE "C",
    amount             bigint NOT NULL,
    currency           text COLLATE "C" NOT NULL,
    created_at         text COLLATE "C" NOT NULL,
    updated_at         text COLLATE "C" NOT NULL
  );
  `,
  `
  -- The newest signed head of each stream, written with every commit of its records.
  ALTER TABLE streams ADD COLUMN head_size bigint, ADD COLUMN head_root text COLLATE "C", ADD COLUMN head_note text COLLATE "C";
  `,
  `
  -- The journal tree: the streams' signed checkpoints, in the order they were made, and its head.
  CREATE TABLE journal_tree (
    journal text COLLATE "C" NOT NULL,
    idx     bigint NOT NULL CHECK (idx >= 0),
    note    text COLLATE "C" NOT NULL,
    hash    text COLLATE "C" NOT NULL,
    PRIMARY KEY (journal, idx)
  );
  -- Where a stream checkpoint sits in the tree, for receipts.
  CREATE INDEX journal_tree_by_hash ON journal_tree (journal, hash);
  CREATE TRIGGER journal_tree_append_only BEFORE UPDATE OR DELETE ON journal_tree FOR EACH ROW EXECUTE FUNCTION paylog_append_only();
  CREATE TRIGGER journal_tree_no_truncate BEFORE TRUNCATE ON journal_tree FOR EACH STATEMENT EXECUTE FUNCTION paylog_append_only();
  CREATE TABLE journal_tree_heads (
    journal      text COLLATE "C" PRIMARY KEY,
    size         bigint NOT NULL,
    root         text COLLATE "C" NOT NULL,
    note         text COLLATE "C" NOT NULL,
    frontier     jsonb NOT NULL,
    cosignatures jsonb NOT NULL
  );
  `,
  `
  -- What a key may do: keys made before roles existed are merchant keys.
  ALTER TABLE api_keys ADD COLUMN role text COLLATE "C" NOT NULL DEFAULT 'merchant' CHECK (role IN ('merchant', 'auditor'));
  `,
  `
  -- Lookups by the merchant's own reference, newest first, however old the payment: a copy of
  -- the body's merchantReference (NULL when it has none), taken from the bodies already stored.
  ALTER TABLE payments ADD COLUMN merchant_reference text COLLATE "C";
  UPDATE payments SET merchant_reference = body::jsonb ->> 'merchantReference';
  CREATE INDEX payments_by_merchant_reference ON payments (merchant_id, merchant_reference, id);
  `,
  `
  -- Locks what a journal commit (or an idempotency claim) depends on and reads it back, in one
  -- call instead of a round trip per stream and per key: the streams (the caller sorts them), the
  -- heads of the streams it appends to, then the idempotency keys, one at a time in the caller's
  -- (sorted) order, so that any two transactions take their locks in the same order and never
  -- deadlock. A key with a claim (fingerprint not NULL) is inserted if free, and otherwise locked
  -- by ON CONFLICT (whoever committed it last); a key without one is locked if it exists. Under
  -- READ COMMITTED each statement here takes a new snapshot, so a row read after its lock is the
  -- row the lock holds. Deciding (continuity, seals, claims, fences) is the caller's.
  CREATE FUNCTION paylog_lock_batch(
    p_streams text[], p_record_streams text[], p_merchants text[], p_keys text[],
    p_fingerprints text[], p_leases text[], p_expiries text[], p_times text[]
  ) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    v_streams jsonb;
    v_heads jsonb;
    v_keys jsonb := '[]';
    v_row jsonb;
    v_inserted boolean;
  BEGIN
    PERFORM 1 FROM streams WHERE id = ANY (p_streams) ORDER BY id FOR UPDATE;
    SELECT coalesce(jsonb_agg(jsonb_build_array(id, state, coalesce(head_size, 0))), '[]') INTO v_streams
      FROM streams WHERE id = ANY (p_streams);
    SELECT coalesce(jsonb_agg(jsonb_build_array(s.id, h.seq, h.hash)), '[]') INTO v_heads
      FROM unnest(p_record_streams) AS s (id)
      JOIN LATERAL (SELECT seq, hash FROM journal WHERE stream = s.id ORDER BY seq DESC LIMIT 1) AS h ON true;
    FOR i IN 1 .. coalesce(cardinality(p_keys), 0) LOOP
      v_inserted := false;
      IF p_fingerprints[i] IS NOT NULL THEN
        INSERT INTO idempotency (merchant_id, key, fingerprint, lease_expires_at, expires_at, created_at)
          VALUES (p_merchants[i], p_keys[i], p_fingerprints[i], p_leases[i], p_expiries[i], p_times[i])
          ON CONFLICT (merchant_id, key) DO UPDATE SET key = excluded.key WHERE false;
        v_inserted := FOUND;
      END IF;
      IF v_inserted THEN
        v_keys := v_keys || jsonb_build_array(jsonb_build_array(p_merchants[i], p_keys[i], true));
      ELSE
        SELECT jsonb_build_array(merchant_id, key, false, fingerprint, payment_id, response, lease_expires_at, expires_at) INTO v_row
          FROM idempotency WHERE merchant_id = p_merchants[i] AND key = p_keys[i] FOR UPDATE;
        IF v_row IS NOT NULL THEN
          v_keys := v_keys || jsonb_build_array(v_row);
        END IF;
      END IF;
    END LOOP;
    RETURN jsonb_build_object('streams', v_streams, 'heads', v_heads, 'keys', v_keys);
  END $$;
  `,
  `
  -- Records gateway calls (GatewayLedger.recordCall) in one call and one transaction, each call
  -- exactly as a statement of its own would, one after another in the caller's order (sorted by
  -- gateway key, so two such transactions lock shared entries in the same order): counts the
  -- call, creating the entry on the first; settles the outcome if there is none yet and this is
  -- call number p_settle_from or later. Returns, per call, the entry and whether it settled.
  CREATE FUNCTION paylog_record_calls(
    p_keys text[], p_amounts bigint[], p_currencies text[], p_ats text[], p_settle_from integer[],
    p_settles boolean[], p_outcomes text[], p_codes text[], p_decline_codes text[], p_authorization_codes text[]
  ) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    v_calls jsonb := '[]';
    v_entry jsonb;
  BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_keys), 0) LOOP
      v_entry := NULL;
      IF p_settles[i] THEN
        -- An entry comes back only if this call inserted it or settled it.
        INSERT INTO gateway_ledger AS l (gateway_key, calls, outcome, code, decline_code, authorization_code, amount, currency, created_at, updated_at)
          VALUES (p_keys[i], 1, CASE WHEN p_settle_from[i] <= 1 THEN p_outcomes[i] END, CASE WHEN p_settle_from[i] <= 1 THEN p_codes[i] END,
                  CASE WHEN p_settle_from[i] <= 1 THEN p_decline_codes[i] END, CASE WHEN p_settle_from[i] <= 1 THEN p_authorization_codes[i] END,
                  p_amounts[i], p_currencies[i], p_ats[i], p_ats[i])
          ON CONFLICT (gateway_key) DO UPDATE SET calls = l.calls + 1, outcome = p_outcomes[i], code = p_codes[i], decline_code = p_decline_codes[i],
            authorization_code = p_authorization_codes[i], updated_at = excluded.updated_at
          WHERE l.outcome IS NULL AND l.calls + 1 >= p_settle_from[i]
          RETURNING jsonb_build_array(l.gateway_key, l.calls, l.outcome, l.code, l.decline_code, l.authorization_code, l.amount, l.currency,
            l.created_at, l.updated_at, l.outcome IS NOT NULL) INTO v_entry;
      END IF;
      IF v_entry IS NULL THEN
        -- No settlement, or the entry exists and this call settles nothing: it is counted.
        INSERT INTO gateway_ledger AS l (gateway_key, calls, amount, currency, created_at, updated_at)
          VALUES (p_keys[i], 1, p_amounts[i], p_currencies[i], p_ats[i], p_ats[i])
          ON CONFLICT (gateway_key) DO UPDATE SET calls = l.calls + 1, updated_at = excluded.updated_at
          RETURNING jsonb_build_array(l.gateway_key, l.calls, l.outcome, l.code, l.decline_code, l.authorization_code, l.amount, l.currency,
            l.created_at, l.updated_at, false) INTO v_entry;
      END IF;
      v_calls := v_calls || jsonb_build_array(v_entry);
    END LOOP;
    RETURN v_calls;
  END $$;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database up to SCHEMA_VERSION in one transaction holding an advisory lock, so
 * when several instances start at once one migrates and the others then find nothing to do.
 */
export async function migrate(client: pg.PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  // Created only when missing: CREATE TABLE IF NOT EXISTS would need the CREATE right on the
  // schema even when the table exists, which the service's least-privilege role does not hold.
  const { rows: [known] } = await client.query<{ exists: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS exists");
  if (!known?.exists) {
    await client.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  }
  const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  const current = rows[0]?.version ?? 0;
  if (current > SCHEMA_VERSION) throw new Error(`the database has schema version ${current}, newer than this paylog's ${SCHEMA_VERSION}; upgrade paylog`);
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    await client.query(MIGRATIONS[version - 1] as string);
    await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
  }
}
